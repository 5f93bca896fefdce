package topology

import (
	"fmt"
	"net"
	"strconv"
)

// The address plan. Region N (the N-th site of the config, from 1) owns 127.0.N.0/24;
// every process of that region binds there. A process in region F reaches a service at
// 127.0.T.H:P in region T through a toxiproxy listener at 127.F.T.H:P, so every
// cross-region path crosses a link that can be cut (docs/design/lab-regions.md).
const (
	hostControlPlane = 1  // kube-apiserver :6443
	hostIngress      = 10 // the site's load balancer :8080
	hostPostgres     = 20 // PostgreSQL members .21, .22, ... :5432
	hostDemo         = 30 // the demo application's process :8080
	hostDaemon       = 40 // hadron serve: API :7443, etcd peer :2380, DNS :53

	PortAPIServer = 6443
	PortIngress   = 8080
	PortPostgres  = 5432
	PortDemo      = 8080
	PortDaemonAPI = 7443
	PortEtcdPeer  = 2380
	PortDNS       = 53
)

// Site is a site of the lab with its region index and addresses.
type Site struct {
	SiteConfig
	// Index is the region's number N in 127.0.N.0/24.
	Index int
}

// Workload says whether the site runs a control plane and workloads.
func (s Site) Workload() bool { return s.Role == RoleWorkload }

// Clustered says whether the site runs a Kubernetes control plane: every workload
// site, and the witness when the daemons run as pods (it needs a cluster to install
// its daemon into).
func (c Config) Clustered(s Site) bool { return s.Workload() || c.DaemonPods }

// RealNodesOf is how many real nodes s runs: realNodes for a workload site, one for a
// clustered witness (its daemon's pod).
func (c Config) RealNodesOf(s Site) int {
	switch {
	case s.Workload():
		return c.RealNodes
	case c.Clustered(s) && c.RealNodes > 0:
		return 1
	}
	return 0
}

// ClusterZones are the zones of the site's nodes: a witness names none, and its
// cluster gets one in its region.
func (s Site) ClusterZones() []string {
	if len(s.Zones) == 0 {
		return []string{s.Region + "a"}
	}
	return s.Zones
}

func (s Site) ip(host int) string { return fmt.Sprintf("127.0.%d.%d", s.Index, host) }

// AddressPrefix is the start of every address of the site's range, "127.0.N.".
func (s Site) AddressPrefix() string { return fmt.Sprintf("127.0.%d.", s.Index) }

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// ControlPlaneIP is where every control-plane component of the site binds.
func (s Site) ControlPlaneIP() string { return s.ip(hostControlPlane) }

// APIServer is the site's kube-apiserver address.
func (s Site) APIServer() string { return hostPort(s.ip(hostControlPlane), PortAPIServer) }

// Ingress is the site's load-balancer address.
func (s Site) Ingress() string { return hostPort(s.ip(hostIngress), PortIngress) }

// Demo is where the site's demo application process listens.
func (s Site) Demo() string { return hostPort(s.ip(hostDemo), PortDemo) }

// Postgres is the address of the k-th (from 0) database member in the site.
func (s Site) Postgres(k int) string { return hostPort(s.ip(hostPostgres+1+k), PortPostgres) }

// DaemonAPI, EtcdPeer and DNS are where the site's hadron daemon listens.
func (s Site) DaemonAPI() string { return hostPort(s.ip(hostDaemon), PortDaemonAPI) }
func (s Site) EtcdPeer() string  { return hostPort(s.ip(hostDaemon), PortEtcdPeer) }
func (s Site) DNS() string       { return hostPort(s.ip(hostDaemon), PortDNS) }

// ExternalDNSMetrics is where the site's external-dns serves its metrics (dns:
// external-dns).
func (s Site) ExternalDNSMetrics() string { return hostPort(s.ip(hostDaemon+5), 7979) }

// PodCIDR is the pod network of the site's real nodes: 10.244.N.0/24 for region N,
// outside 127/8 and the host's own networks, one /24 per site so a pod IP says its site.
func (s Site) PodCIDR() string { return fmt.Sprintf("10.244.%d.0/24", s.Index) }

// PodGateway is the host's address on the site's pod bridge: the real node's IP and
// the one host address pods can reach (their own 127/8 is their network namespace's).
func (s Site) PodGateway() string { return fmt.Sprintf("10.244.%d.1", s.Index) }

// PodBridge names the site's pod bridge (at most 15 characters, an interface name).
func (s Site) PodBridge() string { return fmt.Sprintf("hlab%d", s.Index) }

// RealNode names the site's k-th (from 0) real node.
func (s Site) RealNode(k int) string { return fmt.Sprintf("%s-real-%d", s.Name, k) }

// PodMemberPort is the port on a site's PodGateway where pods reach the k-th member of
// the mirror set (from 0, in Members order) through a forwarder of the supervisor.
func PodMemberPort(k int) int { return 15432 + k }

// PodObjectStorePort is the port on a site's PodGateway where pods reach the lab's
// object store (members in pods archive from their pods), forwarded through the
// site's own link to the store.
const PodObjectStorePort = 19443

// Indexed numbers the config's sites.
func (c Config) Indexed() []Site {
	first := c.FirstRegion
	if first == 0 {
		first = 1
	}
	out := make([]Site, len(c.Sites))
	for i, s := range c.Sites {
		out[i] = Site{SiteConfig: s, Index: first + i}
	}
	return out
}

// Site returns the named site.
func (c Config) Site(name string) (Site, bool) {
	for _, s := range c.Indexed() {
		if s.Name == name {
			return s, true
		}
	}
	return Site{}, false
}

// SiteOfRegion returns the site of a region.
func (c Config) SiteOfRegion(region string) (Site, bool) {
	for _, s := range c.Indexed() {
		if s.Region == region {
			return s, true
		}
	}
	return Site{}, false
}

// Via returns how a process in region `from` reaches addr, an address owned by region
// `to`: addr itself inside one region, else the link's listener 127.from.to.host:port.
func Via(from, to int, addr string) (string, error) {
	if from == to {
		return addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	ip := net.ParseIP(host).To4()
	if ip == nil || ip[0] != 127 || ip[1] != 0 || int(ip[2]) != to {
		return "", fmt.Errorf("address %q is not in region %d's range 127.0.%d.0/24", addr, to, to)
	}
	return hostPort(fmt.Sprintf("127.%d.%d.%d", from, to, ip[3]), mustAtoi(port)), nil
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
