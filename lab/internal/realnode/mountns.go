package realnode

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// KubeletSysctls are the host-wide kernel settings the kubelet insists on (v1.37,
// pkg/kubelet/cm setupKernelTunables) and the values it wants. With the default
// protectKernelDefaults: false it writes them for the whole machine; with true it
// refuses to start unless it reads them. Neither is acceptable on a shared machine
// (another lab, a CI runner), so each node's mount namespace shows the kubelet these
// values over /proc/sys while the host keeps its own. They are node policy (panic and
// reboot on an oops, always overcommit), which a lab node never exercises.
var KubeletSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// MountNS is the file the node's mount namespace is bound to: containerd and the
// kubelet both run in it (nsenter), so the mounts one makes (volumes, root
// filesystems) are the other's, and the host's mount table sees none of them.
func (n Node) MountNS() string { return n.path("ns", "mnt") }

// InMountNS wraps a command so that it runs in the node's mount namespace.
func (n Node) InMountNS(path string, args ...string) (string, []string) {
	return "nsenter", append([]string{"--mount=" + n.MountNS(), "--", path}, args...)
}

// maskMounts lists the bind mounts of the node's namespace: a file with the wanted
// value over each /proc/sys entry, in a stable order.
func (n Node) maskMounts() [][2]string {
	var out [][2]string
	for k := range KubeletSysctls {
		out = append(out, [2]string{n.path("ns", "sysctl", strings.ReplaceAll(k, "/", ".")), filepath.Join("/proc/sys", k)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1] < out[j][1] })
	return out
}

// prepareMountNS creates the node's mount namespace with the sysctl masks. The
// namespace file lives on a private bind mount of the node's ns directory: unshare
// refuses to bind a namespace on a shared mount (systemd hosts mount / shared).
func (n Node) prepareMountNS(ctx context.Context) error {
	dir := n.path("ns")
	if err := os.MkdirAll(filepath.Join(dir, "sysctl"), 0o755); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	for k, v := range KubeletSysctls {
		if err := os.WriteFile(filepath.Join(dir, "sysctl", strings.ReplaceAll(k, "/", ".")), []byte(v+"\n"), 0o444); err != nil {
			return fmt.Errorf("node %s: sysctl mask: %w", n.Name, err)
		}
	}
	steps := [][]string{
		{"mount", "--bind", dir, dir},
		{"mount", "--make-private", dir},
	}
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			return fmt.Errorf("node %s: mount namespace: %w", n.Name, err)
		}
	}
	if err := os.WriteFile(n.MountNS(), nil, 0o644); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if err := run(ctx, "unshare", "--mount="+n.MountNS(), "--propagation", "private", "true"); err != nil {
		return fmt.Errorf("node %s: mount namespace: %w", n.Name, err)
	}
	for _, m := range n.maskMounts() {
		if err := run(ctx, "nsenter", "--mount="+n.MountNS(), "--", "mount", "--bind", m[0], m[1]); err != nil {
			return fmt.Errorf("node %s: mask %s: %w", n.Name, m[1], err)
		}
	}
	return nil
}

func run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
