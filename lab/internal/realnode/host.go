package realnode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"hadron.dev/hadron/lab/internal/topology"
)

// cgroupFS is where the cgroup v1 hierarchies are mounted.
const cgroupFS = "/sys/fs/cgroup"

// Prepare sets up what the node's processes expect to exist before they start: the pod
// bridge with the node's address (the kubelet's --node-ip must be on an interface before
// the first pod makes the CNI create the bridge) and the node's cgroup root in every
// hierarchy (the kubelet refuses a cgroupRoot that does not exist).
func (n Node) Prepare(ctx context.Context) error {
	if err := n.WriteConfig(); err != nil {
		return err
	}
	if err := n.prepareMountNS(ctx); err != nil {
		return err
	}
	br := n.Site.PodBridge()
	if err := exec.CommandContext(ctx, "ip", "link", "show", br).Run(); err != nil {
		if out, err := exec.CommandContext(ctx, "ip", "link", "add", br, "type", "bridge").CombinedOutput(); err != nil {
			return fmt.Errorf("node %s: create bridge %s: %w: %s", n.Name, br, err, strings.TrimSpace(string(out)))
		}
	}
	prefix := strings.SplitN(n.Site.PodCIDR(), "/", 2)[1]
	out, err := exec.CommandContext(ctx, "ip", "addr", "replace", n.Site.PodGateway()+"/"+prefix, "dev", br).CombinedOutput()
	if err != nil {
		return fmt.Errorf("node %s: address of bridge %s: %w: %s", n.Name, br, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.CommandContext(ctx, "ip", "link", "set", br, "up").CombinedOutput(); err != nil {
		return fmt.Errorf("node %s: bridge %s up: %w: %s", n.Name, br, err, strings.TrimSpace(string(out)))
	}
	for _, h := range n.hierarchies() {
		if err := os.MkdirAll(filepath.Join(h, n.CgroupRoot()), 0o755); err != nil {
			return fmt.Errorf("node %s: cgroup root: %w", n.Name, err)
		}
	}
	return nil
}

// hierarchies lists the mounted cgroup v1 hierarchies (cgroup v2's single tree too).
func (n Node) hierarchies() []string {
	entries, err := os.ReadDir(cgroupFS)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(cgroupFS, e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	if _, err := os.Stat(filepath.Join(cgroupFS, "cgroup.controllers")); err == nil {
		return []string{cgroupFS}
	}
	return out
}

// RemovePods stops and removes every pod sandbox through the CRI, as the kubelet would,
// so that the CNI takes each pod's interface and address back and no container outlives
// the lab. The kubelet must be stopped first or it starts the pods again.
func (n Node) RemovePods(ctx context.Context, log *slog.Logger) error {
	if _, err := os.Stat(n.Socket()); err != nil {
		return nil
	}
	rt, closeCRI, err := n.cri()
	if err != nil {
		return err
	}
	defer closeCRI()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("node %s: list pod sandboxes: %w", n.Name, err)
	}
	var errs []error
	for _, sb := range resp.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop pod %s/%s: %w", sb.Metadata.GetNamespace(), sb.Metadata.GetName(), err))
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove pod %s/%s: %w", sb.Metadata.GetNamespace(), sb.Metadata.GetName(), err))
		}
	}
	log.Info("pods removed", "node", n.Name, "pods", len(resp.Items))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	return nil
}

// Cleanup removes what the node's processes leave on the host once they are stopped:
// container shims still running (they outlive containerd by design), mounts under the
// node's directory (its mount namespace goes with its last process and its file's
// mount), the node's cgroups and its state directory — all but its local volumes,
// which are its disks: a node that loses power comes back with them, and a stateful
// pod bound to one (an etcd member, a database) comes back with its data; they go with
// the lab's directory. The site's bridge stays: the site's other nodes use it
// (RemoveBridge). It is also the sweep after a crashed supervisor, so it expects
// nothing to be in order.
func (n Node) Cleanup(ctx context.Context, log *slog.Logger) error {
	var errs []error
	if k := killShims(n.Socket()); k > 0 {
		log.Info("killed container shims", "node", n.Name, "shims", k)
		time.Sleep(500 * time.Millisecond)
	}
	if err := unmountUnder(n.Dir); err != nil {
		errs = append(errs, err)
	}
	for _, h := range n.hierarchies() {
		if err := removeCgroupTree(filepath.Join(h, n.CgroupRoot())); err != nil {
			errs = append(errs, err)
		}
	}
	entries, err := os.ReadDir(n.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if e.Name() == volumesDir {
			continue
		}
		if err := os.RemoveAll(filepath.Join(n.Dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", e.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node %s: cleanup: %w", n.Name, err)
	}
	return nil
}

// RemoveBridge deletes the site's pod bridge once none of its nodes runs.
func RemoveBridge(ctx context.Context, s topology.Site) error {
	if err := exec.CommandContext(ctx, "ip", "link", "show", s.PodBridge()).Run(); err != nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "ip", "link", "del", s.PodBridge()).CombinedOutput(); err != nil {
		return fmt.Errorf("delete bridge %s: %w: %s", s.PodBridge(), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// killShims kills the containerd-shim-runc-v2 processes started for the containerd at
// socket (the shim's command line names its containerd's address) and the containers
// they hold, and returns how many it found.
func killShims(socket string) int {
	procs, _ := os.ReadDir("/proc")
	n := 0
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") || !slices.Contains(args, socket) {
			continue
		}
		// The shim is its containers' parent and subreaper; its process group holds
		// only itself, so the containers are found as its children.
		for _, c := range Children(pid) {
			_ = syscall.Kill(c, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		n++
	}
	return n
}

// Children lists the direct children of pid.
func Children(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// unmountUnder lazily unmounts every mount point below dir, deepest first (overlay
// root filesystems, shm, the kubelet's volume mounts).
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("mountinfo: %w", err)
	}
	defer f.Close()
	prefix := filepath.Clean(dir) + "/"
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], prefix) {
			points = append(points, unescapeMount(fields[4]))
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroupTree removes a cgroup directory and its children, deepest first: a cgroup
// is removed with rmdir, never by deleting its files.
func removeCgroupTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cgroups under %s: %w", root, err)
	}
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}

// ContainerPID is the host's process id of the running container named container in
// pod namespace/name on this node: the container's first process, as containerd's CRI
// reports it.
func (n Node) ContainerPID(ctx context.Context, namespace, name, container string) (int, error) {
	rt, closeCRI, err := n.cri()
	if err != nil {
		return 0, err
	}
	defer closeCRI()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{
			"io.kubernetes.pod.namespace":  namespace,
			"io.kubernetes.pod.name":       name,
			"io.kubernetes.container.name": container,
		}}})
	if err != nil {
		return 0, fmt.Errorf("node %s: list containers: %w", n.Name, err)
	}
	if len(resp.Containers) != 1 {
		return 0, fmt.Errorf("node %s: %d running containers %s in pod %s/%s, want 1", n.Name, len(resp.Containers), container, namespace, name)
	}
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: resp.Containers[0].Id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("node %s: container status: %w", n.Name, err)
	}
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.PID <= 0 {
		return 0, fmt.Errorf("node %s: container %s of pod %s/%s: no process id in its status (%v)", n.Name, container, namespace, name, err)
	}
	return info.PID, nil
}

// cri is a client of the node's containerd CRI; call the func to close it.
func (n Node) cri() (runtimeapi.RuntimeServiceClient, func(), error) {
	conn, err := grpc.NewClient("unix://"+n.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("node %s: CRI: %w", n.Name, err)
	}
	return runtimeapi.NewRuntimeServiceClient(conn), func() { conn.Close() }, nil
}
