// Package controlplane runs one lab site's Kubernetes control plane: embedded etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with simulated nodes
// labelled by region and zone, all bound to the site's own loopback address.
package controlplane

import (
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
)

// Ports every site uses on its own loopback address; sites never share an address, so
// they never collide.
const (
	APIServerPort         = 6443
	EtcdClientPort        = 2379
	EtcdPeerPort          = 2380
	ControllerManagerPort = 10257
	SchedulerPort         = 10259
)

// Config describes one site's control plane.
type Config struct {
	// Name is the site's name (east); it names the kubeconfig context hadron-lab-<name>
	// and labels its nodes hadron.dev/lab-site=<name>.
	Name string
	// Region and Zones label the simulated nodes (topology.kubernetes.io/region, /zone).
	Region string
	Zones  []string
	// NodesPerZone is how many simulated worker nodes each zone gets (default 2). With an
	// Autoscaler it is the most workers per zone the autoscaler adds.
	NodesPerZone int
	// IP is the loopback address every component of the site binds to (127.0.1.1).
	IP string
	// Dir holds the site's state: etcd data, certificates, logs, kubeconfig, ready.
	Dir string
	// CADir holds the lab CA (ca.crt, ca.key), shared by all sites; created when absent.
	// Default: Dir/pki.
	CADir string
	// APIServerSANs are extra names or addresses in the API server's certificate (a
	// proxy address other sites reach it through).
	APIServerSANs []string
	// Autoscaler, when set ("kube-system/karpenter"), starts the site with only a small
	// tainted control node group; worker nodes are added only while that Deployment has
	// ready replicas and pods are Pending (seed 003's cold stand-by capacity).
	Autoscaler string
	// Binary is the executable that runs the component roles (`<Binary> kube-apiserver
	// ...`); default: this process's executable.
	Binary string
	// ReadyTimeout bounds the wait for /readyz and Ready nodes (default 3m).
	ReadyTimeout time.Duration
	// Log receives the site's progress; default slog.Default().
	Log *slog.Logger
}

// withDefaults fills the defaults and validates; it does no I/O.
func (c Config) withDefaults() (Config, error) {
	var errs []string
	if c.Name == "" || strings.ContainsAny(c.Name, " /") {
		errs = append(errs, fmt.Sprintf("name %q must be a non-empty word", c.Name))
	}
	if c.Region == "" {
		errs = append(errs, "region is empty")
	}
	if len(c.Zones) == 0 {
		errs = append(errs, "no zones")
	}
	seen := map[string]bool{}
	for _, z := range c.Zones {
		if z == "" || seen[z] {
			errs = append(errs, fmt.Sprintf("zone %q is empty or repeated", z))
		}
		seen[z] = true
	}
	if c.NodesPerZone == 0 {
		c.NodesPerZone = 2
	}
	if c.NodesPerZone < 0 {
		errs = append(errs, fmt.Sprintf("nodes per zone %d is negative", c.NodesPerZone))
	}
	if a, err := netip.ParseAddr(c.IP); err != nil || !a.IsLoopback() || !a.Is4() {
		errs = append(errs, fmt.Sprintf("ip %q is not an IPv4 loopback address", c.IP))
	}
	if c.Dir == "" {
		errs = append(errs, "state dir is empty")
	}
	if c.Autoscaler != "" {
		if ns, name, ok := strings.Cut(c.Autoscaler, "/"); !ok || ns == "" || name == "" {
			errs = append(errs, fmt.Sprintf("autoscaler %q is not namespace/name", c.Autoscaler))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("site %s: %w: %s", c.Name, ErrInvalidConfig, strings.Join(errs, "; "))
	}
	if c.Dir, _ = filepath.Abs(c.Dir); c.CADir == "" {
		c.CADir = filepath.Join(c.Dir, "pki")
	}
	c.CADir, _ = filepath.Abs(c.CADir)
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 3 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c, nil
}

// Context is the kubeconfig context (and cluster and user) name of a site.
func Context(site string) string { return "hadron-lab-" + site }

// layout names the files of a site's state directory.
type layout struct{ dir, caDir string }

func (l layout) pki(name string) string  { return filepath.Join(l.dir, "pki", name) }
func (l layout) ca(name string) string   { return filepath.Join(l.caDir, name) }
func (l layout) etcd() string            { return filepath.Join(l.dir, "etcd") }
func (l layout) logs(name string) string { return filepath.Join(l.dir, "logs", name+".log") }
func (l layout) kubeconfig() string      { return filepath.Join(l.dir, "kubeconfig") }
func (l layout) component(role string) string {
	return filepath.Join(l.dir, "components", role+".kubeconfig")
}
func (l layout) kwokConfig() string { return filepath.Join(l.dir, "components", "kwok.yaml") }
func (l layout) ready() string      { return filepath.Join(l.dir, "ready") }

// KubeconfigPath is where Run writes the site's admin kubeconfig.
func KubeconfigPath(dir string) string { return layout{dir: dir}.kubeconfig() }

// ReadyPath is the file Run writes once the API server is ready and every node is Ready.
func ReadyPath(dir string) string { return layout{dir: dir}.ready() }
