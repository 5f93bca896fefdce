// Package realnode prepares and tears down a real worker node of a lab site: a
// containerd with its own root, state, socket and CNI configuration, and a kubelet
// (hadron-lab's kubelet role) registered with the site's kube-apiserver beside the
// simulated kwok nodes. Several nodes share one host, so everything a node owns is
// named after it: directories, the containerd socket, the cgroup root, the pod bridge.
// The supervisor (lab/internal/world) runs the two processes; this package writes
// their configuration, builds the images they run and removes what they leave.
package realnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"hadron.dev/hadron/lab/internal/topology"
)

// Labels of a real node, besides the topology labels the simulated nodes carry too.
const (
	// LabelKind is "real" on a real node: workloads that must run in containers select it.
	LabelKind = "hadron.dev/lab-node-kind"
	KindReal  = "real"
)

// Image references the lab builds and imports; nothing is pulled.
const (
	PauseImage = "hadron.dev/lab/pause:1"
	DemoImage  = "hadron.dev/lab/hadron-demo:dev"
)

// CNIBinDir is where Debian's containernetworking-plugins installs the plugins.
const CNIBinDir = "/usr/lib/cni"

// Node is one real node of a site and where its files live.
type Node struct {
	Site topology.Site
	// Index is the node's number in its site (from 0): it picks the node's zone, its
	// slice of the pod CIDR and its kubelet ports.
	Index int
	Name  string
	Zone  string // the site's zone the node is in ("" for a site without zones)
	Dir   string // the node's state directory
	// KubeconfigPath is the site's admin kubeconfig: the lab's kubelet authenticates
	// as the cluster admin rather than through TLS bootstrap, which the lab's control
	// plane does not run.
	KubeconfigPath string
}

// New describes the k-th real node of site s, with its state under siteDir.
func New(s topology.Site, k int, siteDir, kubeconfig string) Node {
	name := s.RealNode(k)
	return Node{Site: s, Index: k, Name: name, Zone: ZoneOf(s.ClusterZones(), k), Dir: filepath.Join(siteDir, "nodes", name), KubeconfigPath: kubeconfig}
}

// ZoneOf is the zone of a site's k-th real node: the nodes go round the zones, so two
// nodes are in two zones and a zone's failure leaves the other node to reschedule to.
func ZoneOf(zones []string, k int) string {
	if len(zones) == 0 {
		return ""
	}
	return zones[k%len(zones)]
}

// PodRange is the node's slice of the site's pod CIDR (10.244.N.0/24): every node's
// host-local IPAM hands out addresses from its own range of 60, so two nodes on the
// site's one bridge never give two pods the same IP.
func (n Node) PodRange() (first, last string) {
	base := strings.TrimSuffix(n.Site.PodGateway(), ".1")
	lo := 10 + 60*n.Index
	return fmt.Sprintf("%s.%d", base, lo), fmt.Sprintf("%s.%d", base, lo+59)
}

// KubeletPort and HealthzPort are the node's kubelet listeners on the site's pod gateway
// address, which the site's nodes share.
func (n Node) KubeletPort() int { return 10250 + 10*n.Index }
func (n Node) HealthzPort() int { return 10248 + 10*n.Index }

func (n Node) path(p ...string) string { return filepath.Join(append([]string{n.Dir}, p...)...) }

// Socket is containerd's CRI and API socket.
func (n Node) Socket() string           { return n.path("containerd.sock") }
func (n Node) ContainerdConfig() string { return n.path("containerd.toml") }
func (n Node) KubeletConfig() string    { return n.path("kubelet.yaml") }
func (n Node) KubeletRoot() string      { return n.path("kubelet") }

// Volume is the directory of the node's k-th local PersistentVolume.
func (n Node) Volume(k int) string { return n.path(volumesDir, fmt.Sprintf("vol-%d", k)) }

// volumesDir holds the node's local volumes under its directory.
const volumesDir = "volumes"

func (n Node) CNIConfDir() string { return n.path("cni") }

// CgroupRoot is the node's own cgroup root (cgroupfs driver): two kubelets on one host
// must not both own /kubepods.
func (n Node) CgroupRoot() string { return "/hadron-lab-" + n.Name }

// ContainerdArgs are the arguments of the node's containerd.
func (n Node) ContainerdArgs() []string { return []string{"--config", n.ContainerdConfig()} }

// KubeletArgs are the arguments of the node's kubelet role; the rest is in its
// KubeletConfiguration file.
func (n Node) KubeletArgs() []string {
	// No hadron.dev/lab-site label: that one marks the simulated nodes, whose zone
	// faults flip a heartbeat label kwok acts on; kwok must never adopt a real node.
	labels := []string{
		LabelKind + "=" + KindReal,
		"topology.kubernetes.io/region=" + n.Site.Region,
	}
	if n.Zone != "" {
		labels = append(labels, "topology.kubernetes.io/zone="+n.Zone)
	}
	return []string{
		"--config", n.KubeletConfig(),
		"--kubeconfig", n.KubeconfigPath,
		"--root-dir", n.KubeletRoot(),
		"--cert-dir", n.path("kubelet-pki"),
		"--hostname-override", n.Name,
		"--node-ip", n.Site.PodGateway(),
		"--node-labels", strings.Join(labels, ","),
		"--v", "1",
	}
}

// WriteConfig writes containerd's, the CNI's and the kubelet's configuration files.
func (n Node) WriteConfig() error {
	for _, d := range []string{n.Dir, n.CNIConfDir(), n.KubeletRoot(), n.path("pod-logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	files := map[string]string{
		n.ContainerdConfig():                             n.containerdTOML(),
		filepath.Join(n.CNIConfDir(), "10-lab.conflist"): n.cniConflist(),
		n.KubeletConfig():                                n.kubeletYAML(),
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return fmt.Errorf("node %s: write %s: %w", n.Name, filepath.Base(p), err)
		}
	}
	return nil
}

// containerdTOML keeps every path of the daemon inside the node's directory (two
// containerds on one host must share nothing), turns off the plugins that need what the
// lab does not have (/opt, btrfs, zfs, devmapper, aufs), and names the pause image the
// lab imports, since the default one would be pulled from a registry. The pods' network
// namespaces are mounted under the node's state too, so a sweep finds them.
func (n Node) containerdTOML() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = %q
  stream_server_port = "0"
  enable_selinux = false
  # The CRI gives every pod sandbox oom_score_adj -998 (and Guaranteed pods -997);
  # lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which a container host
  # such as this lab's VM may not have even as root (cleared from the bounding set).
  # runc then dies writing it ("can't get final child's PID from pipe: EOF"). This
  # clamps every sandbox and container to no lower than containerd's own value.
  restrict_oom_score_adj = true
  # The pods' network namespace files go under the node's state (not /run/netns), so a
  # node whose containerd died without removing its pods leaves none on the host.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
`, n.path("containerd", "root"), n.path("containerd", "state"), n.Socket(), n.Socket()+".ttrpc",
		PauseImage, n.Site.PodGateway(), n.path("runc"), CNIBinDir, n.CNIConfDir())
}

// cniConflist puts pods on the site's bridge with an address from the site's pod CIDR.
// No masquerade: pods talk only to the host (their gateway), which needs no NAT, and the
// host has no iptables to rely on.
func (n Node) cniConflist() string {
	first, last := n.PodRange()
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "hadron-lab-%s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "rangeStart": %q, "rangeEnd": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
`, n.Site.Name, n.Site.PodBridge(), n.path("cni-ipam"), n.Site.PodCIDR(), first, last, n.Site.PodGateway())
}

// kubeletYAML is the node's KubeletConfiguration. cgroup v1 hosts need failCgroupV1:
// false; every listener binds the node's own address; the image garbage collector and
// the disk evictions are kept from removing the images the lab imported (they cannot be
// pulled again) or evicting pods of a busy shared disk.
//
// The kubelet shares the host with everything else, so it must change nothing
// host-wide: oomScoreAdj 0 (its default -999 needs CAP_SYS_RESOURCE and fails on every
// sync), no iptables chains, and protectKernelDefaults, so it refuses to start rather
// than set vm.overcommit_memory, kernel.panic and kernel.panic_on_oops for the whole
// machine (the node's mount namespace shows it the values it checks: see MaskedSysctls).
func (n Node) kubeletYAML() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: %q
cgroupsPerQOS: true
containerRuntimeEndpoint: %q
address: %q
port: %d
readOnlyPort: 0
healthzBindAddress: %q
healthzPort: %d
podLogsDir: %q
oomScoreAdj: 0
protectKernelDefaults: true
makeIPTablesUtilChains: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
authorization:
  mode: Webhook
registerNode: true
maxPods: 30
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.inodesFree: "1%%"
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
serializeImagePulls: false
resolvConf: ""
`, n.CgroupRoot(), "unix://"+n.Socket(), n.Site.PodGateway(), n.KubeletPort(), n.Site.PodGateway(), n.HealthzPort(), n.path("pod-logs"))
}
