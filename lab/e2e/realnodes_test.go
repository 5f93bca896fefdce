package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/lab/internal/world"
)

// realNodesConfig is a lab with one real node per workload site on regions 21-23
// (pods in 10.244.21.0/24 and 10.244.22.0/24). Without daemons: the test is about
// pods, nodes and the load balancer, not about hadron.
const realNodesConfig = `
firstRegion: 21
latency: 10ms
daemons: false
realNodes: 1
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 1}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 1}
  - {name: witness, region: eu-central-1, role: witness}
`

const (
	realEastLB  = "127.0.21.10:8080"
	realEastPod = "10.244.21."
)

// TestRealNodes runs the demo application as pods on a real node (kubelet, containerd,
// runc, a bridge CNI) and checks that the site's load balancer serves from the pods'
// IPs, that a deleted pod comes back and serves, and that `down` leaves nothing on the
// host. It needs root, containerd, runc and containernetworking-plugins
// (scripts/install-deps.sh).
func TestRealNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	for _, bin := range []string{"containerd", "runc", "ctr", "/usr/lib/cni/bridge"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("real nodes need %s (scripts/install-deps.sh): %v", bin, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("real nodes need root (containers, bridges, cgroups)")
	}
	l := &lab{t: t, bin: binary(t, "hadron-lab", "HADRON_LAB_BINARY"), dir: filepath.Join(t.TempDir(), "lab")}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(realNodesConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	downed := false
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpRealNodeLogs(60)
		}
		if !downed {
			if out, err := l.run(3*time.Minute, "down"); err != nil {
				t.Logf("cleanup down: %v\n%s", err, out)
			}
		}
	})

	start := time.Now()
	out := l.must(15*time.Minute, "up", "--config", cfg)
	t.Logf("lab with real nodes up in %s:\n%s", time.Since(start).Round(time.Second), out)

	east := l.siteClient(t, "east")
	ctx := context.Background()

	t.Run("real node registered beside the simulated ones", func(t *testing.T) {
		n, err := east.CoreV1().Nodes().Get(ctx, "east-real-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Labels["hadron.dev/lab-node-kind"] != "real" || n.Labels[corev1.LabelTopologyZone] != "us-east-1a" {
			t.Errorf("labels: %v", n.Labels)
		}
		if !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "containerd://1.") {
			t.Errorf("runtime: %q", n.Status.NodeInfo.ContainerRuntimeVersion)
		}
		t.Logf("node %s: kubelet %s, %s, %s", n.Name, n.Status.NodeInfo.KubeletVersion, n.Status.NodeInfo.ContainerRuntimeVersion, n.Status.NodeInfo.KernelVersion)
		all, err := east.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(all.Items) < 4 {
			t.Errorf("nodes: %d %v", len(all.Items), err)
		}
	})

	manifests, err := filepath.Abs(filepath.Join("..", "..", "demo", "pods"))
	if err != nil {
		t.Fatal(err)
	}
	l.must(time.Minute, "apply", "--site", "east", "-f", manifests)

	var first []string
	t.Run("load balancer serves from the ready pod IPs", func(t *testing.T) {
		eventually(t, 3*time.Minute, "two pods of shop-web serving behind east's load balancer", func() (bool, string) {
			seen := map[string]bool{}
			for range 8 {
				code, backend, err := lbGet(realEastLB, "/healthz")
				if err != nil || code != http.StatusOK {
					return false, fmt.Sprintf("%d %v (backend %q; pods: %s)", code, err, backend, podSummary(east))
				}
				if !strings.HasPrefix(backend, realEastPod) {
					return false, fmt.Sprintf("served by %q, not a pod (pods: %s)", backend, podSummary(east))
				}
				seen[backend] = true
			}
			first = keys(seen)
			return len(seen) == 2, fmt.Sprintf("backends %v (pods: %s)", first, podSummary(east))
		})
		t.Logf("east's load balancer routes to %v", first)
	})

	t.Run("a deleted pod comes back and serves", func(t *testing.T) {
		pods, err := east.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("pods: %v", err)
		}
		victim := pods.Items[0]
		killed := time.Now()
		if err := east.CoreV1().Pods("shop").Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*time.Minute, "a new pod ready and served by the load balancer", func() (bool, string) {
			seen := map[string]bool{}
			for range 8 {
				code, backend, err := lbGet(realEastLB, "/healthz")
				if err != nil || code != http.StatusOK {
					return false, fmt.Sprintf("%d %v", code, err)
				}
				seen[backend] = true
			}
			list, err := east.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range list.Items {
				if p.Name != victim.Name && p.UID != victim.UID && p.CreationTimestamp.After(killed.Add(-time.Second)) && seen[p.Status.PodIP+":8080"] {
					return true, ""
				}
			}
			return false, fmt.Sprintf("backends %v (pods: %s)", keys(seen), podSummary(east))
		})
		t.Logf("replacement pod serving %s after the delete", time.Since(killed).Round(100*time.Millisecond))
	})

	t.Run("down leaves nothing on the host", func(t *testing.T) {
		out := l.must(3*time.Minute, "down")
		downed = true
		t.Log(out)
		if err := exec.Command("ip", "link", "show", "hlab21").Run(); err == nil {
			t.Error("bridge hlab21 still exists")
		}
		b, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(b), l.dir) {
			t.Errorf("mounts under %s remain", l.dir)
		}
		ps, _ := exec.Command("ps", "-eo", "args").Output()
		for _, line := range strings.Split(string(ps), "\n") {
			if strings.Contains(line, l.dir) {
				t.Errorf("process remains: %s", line)
			}
		}
		if _, err := os.Stat("/sys/fs/cgroup/memory/hadron-lab-east-real-0"); err == nil {
			t.Error("cgroup /hadron-lab-east-real-0 remains")
		}
	})
}

// lbGet asks the load balancer and returns the status and the backend that answered.
func lbGet(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Hadron-Backend"), nil
}

func (l *lab) siteClient(t *testing.T, site string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(world.Dir(l.dir).Site(site), "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

func podSummary(c kubernetes.Interface) string {
	list, err := c.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range list.Items {
		ready := "not ready"
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready = "ready"
			}
		}
		out = append(out, fmt.Sprintf("%s@%s %s %s %s", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, ready))
	}
	return strings.Join(out, "; ")
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dumpRealNodeLogs prints the supervisor's, the kubelets' and the containerds' logs.
func (l *lab) dumpRealNodeLogs(n int) {
	logs, _ := filepath.Glob(filepath.Join(world.Dir(l.dir).Logs(), "*.log"))
	for _, p := range append([]string{world.Dir(l.dir).Log()}, logs...) {
		name := filepath.Base(p)
		if p != world.Dir(l.dir).Log() && !strings.HasPrefix(name, "kubelet") && !strings.HasPrefix(name, "containerd") && !strings.HasPrefix(name, "demo") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		l.t.Logf("--- last %d lines of %s:\n%s", len(lines), name, strings.Join(lines, "\n"))
	}
}
