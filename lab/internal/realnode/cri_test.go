package realnode

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"hadron.dev/hadron/lab/internal/topology"
)

// TestCRIPod runs a pod through containerd's CRI as the kubelet would — sandbox from
// the lab's pause image, the demo's image, an address on the site's bridge — reaches it
// from the host at its pod IP, and checks that RemovePods and Cleanup leave nothing. It
// needs root, containerd, runc, the CNI plugins and the binaries of `make build`
// (HADRON_REAL_NODE_TEST=1 runs it; region 33's addresses).
func TestCRIPod(t *testing.T) {
	if os.Getenv("HADRON_REAL_NODE_TEST") != "1" {
		t.Skip("HADRON_REAL_NODE_TEST=1 runs a container")
	}
	bin, _ := filepath.Abs("../../../bin")
	ctx := context.Background()
	log := slog.Default()
	cfg := topology.Config{FirstRegion: 33, Sites: []topology.SiteConfig{{Name: "east", Region: "us-east-1", Zones: []string{"us-east-1a"}, Role: topology.RoleWorkload}}}
	n := New(cfg.Indexed()[0], 0, t.TempDir(), "")
	if err := n.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	path, args := n.InMountNS("containerd", n.ContainerdArgs()...)
	cd := exec.Command(path, args...)
	logf, _ := os.Create(filepath.Join(os.TempDir(), "hadron-real-node-test-containerd.log"))
	cd.Stdout, cd.Stderr = logf, logf
	cd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cd.Process.Signal(syscall.SIGTERM)
			_, _ = cd.Process.Wait()
		}
	}
	t.Cleanup(func() {
		_ = n.RemovePods(ctx, log)
		stop()
		_ = n.Cleanup(ctx, log)
		_ = RemoveBridge(ctx, n.Site)
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(n.Socket()); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	images := t.TempDir()
	for _, spec := range []ImageSpec{
		{Ref: PauseImage, Files: []File{{Host: filepath.Join(bin, "hadron-lab-pause"), Image: "/pause"}}, Entrypoint: []string{"/pause"}, User: "65535"},
		{Ref: DemoImage, Files: []File{{Host: filepath.Join(bin, "hadron-demo"), Image: "/usr/local/bin/hadron-demo"}}, Entrypoint: []string{"/usr/local/bin/hadron-demo"}},
	} {
		p := filepath.Join(images, filepath.Base(spec.Ref)+".tar")
		if err := BuildImage(ctx, spec, p); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("ctr", "--address", n.Socket(), "--namespace", "k8s.io", "images", "import", p).CombinedOutput(); err != nil {
			t.Fatalf("import %s: %v\n%s", spec.Ref, err, out)
		}
	}
	conn, err := grpc.NewClient("unix://"+n.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	v, err := rt.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runtime %s %s (CRI %s)", v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion)
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "shop", Uid: "uid-web-1"},
		Hostname:     "web",
		LogDirectory: filepath.Join(n.Dir, "pod-logs", "web"),
		Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: n.CgroupRoot() + "/pod-web"},
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		t.Fatalf("run pod sandbox: %v", err)
	}
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: sbCfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "web"},
		Image:    &runtimeapi.ImageSpec{Image: DemoImage},
		Args:     []string{"serve", "--listen", ":8080", "--site", "east", "--dsn", "postgres://shop@10.244.33.1:1/shop?connect_timeout=1"},
		LogPath:  "web.log",
	}})
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	ip := st.Status.GetNetwork().GetIp()
	if !strings.HasPrefix(ip, "10.244.33.") {
		t.Fatalf("pod IP %q is not in 10.244.33.0/24", ip)
	}
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + ip + ":8080/healthz")
		if err == nil {
			resp.Body.Close()
			last = fmt.Sprint(resp.StatusCode)
			break
		}
		last = err.Error()
		time.Sleep(300 * time.Millisecond)
	}
	if last == "" || strings.Contains(last, " ") {
		b, _ := os.ReadFile(filepath.Join(n.Dir, "pod-logs", "web", "web.log"))
		t.Fatalf("pod %s: no HTTP answer (%s); log:\n%s", ip, last, b)
	}
	t.Logf("pod at %s answered HTTP %s from the host", ip, last)
	// The masks are the node's: the host's own settings show through outside it.
	for k, v := range KubeletSysctls {
		host, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			t.Fatal(err)
		}
		inNode, err := exec.Command("nsenter", "--mount="+n.MountNS(), "--", "cat", filepath.Join("/proc/sys", k)).Output()
		if err != nil {
			t.Fatalf("read %s in the node: %v", k, err)
		}
		if strings.TrimSpace(string(inNode)) != v {
			t.Errorf("%s in the node = %q, want %s", k, inNode, v)
		}
		t.Logf("%s: host %s, node %s", k, strings.TrimSpace(string(host)), strings.TrimSpace(string(inNode)))
	}

	if err := n.RemovePods(ctx, log); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := n.Cleanup(ctx, log); err != nil {
		t.Fatal(err)
	}
	if err := RemoveBridge(ctx, n.Site); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("ip", "link", "show", n.Site.PodBridge()).Run(); err == nil {
		t.Error("bridge remains")
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), n.Dir) {
		t.Error("mounts remain under the node's directory")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory" + n.CgroupRoot()); err == nil {
		t.Error("cgroup remains")
	}
}
