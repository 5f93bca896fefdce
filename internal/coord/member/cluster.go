package member

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"hadron.dev/hadron/internal/fleet"
)

// DefaultClientPort is the port of a member's etcd client listener, on the host of its
// peer address; only the local daemon connects to it.
const DefaultClientPort = "2379"

// Member is one etcd member of the coordination cluster: one per site with a daemon.
type Member struct {
	// Name is the site's name.
	Name string
	// PeerURL is the URL the member advertises to the others.
	PeerURL string
}

// Cluster is the etcd cluster the fleet's daemons form, seen from one site.
type Cluster struct {
	// Local is the member this daemon runs.
	Local   Member
	Members []Member
	// ListenPeer is where the local etcd member accepts peers; ListenClient where the
	// local daemon's client connects.
	ListenPeer, ListenClient string
	// Relay is set when the fleet gives per-region peer addresses (see relay.go); the
	// member then listens on an internal port behind it.
	Relay *RelayPlan
}

// relayPortOffset moves the etcd member's own peer listener away from the advertised
// peer port when a relay sits in front of it.
const relayPortOffset = 10000

// InitialCluster is etcd's --initial-cluster value.
func (c Cluster) InitialCluster() string {
	parts := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		parts = append(parts, m.Name+"="+m.PeerURL)
	}
	return strings.Join(parts, ",")
}

// Plan derives the cluster from the fleet: every site with spec.daemon.peer is a
// member. Members advertise their peer address as the fleet gives it (Endpoint.Address):
// etcd derives member IDs from the advertised URLs, so every member must name a peer by
// the same URL. When peer addresses differ per region, a relay in front of each member
// sends a peer's traffic along the fleet's path from that peer's region (relay.go).
func Plan(f *fleet.Fleet, local string) (Cluster, error) {
	var c Cluster
	found := false
	perRegion := false
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil && s.Spec.Daemon.Peer != nil && len(s.Spec.Daemon.Peer.FromRegions) > 0 {
			perRegion = true
		}
	}
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil {
			continue
		}
		if s.Spec.Daemon.Peer == nil || s.Spec.Daemon.Peer.Address == "" {
			return Cluster{}, fmt.Errorf("site %s: %w", s.Name, ErrNoPeer)
		}
		m := Member{Name: s.Name, PeerURL: "https://" + s.Spec.Daemon.Peer.Address}
		c.Members = append(c.Members, m)
		if s.Name == local {
			found = true
			c.Local = m
			c.ListenPeer = c.Local.PeerURL
			host, _, err := net.SplitHostPort(s.Spec.Daemon.Peer.Address)
			if err != nil {
				return Cluster{}, fmt.Errorf("site %s: spec.daemon.peer.address: %w", s.Name, err)
			}
			c.ListenClient = "https://" + net.JoinHostPort(host, DefaultClientPort)
			if perRegion {
				relay, err := planRelay(f, s.Name)
				if err != nil {
					return Cluster{}, err
				}
				c.Relay = relay
				c.ListenPeer = "https://" + relay.Internal
			}
		}
	}
	if !found {
		return Cluster{}, fmt.Errorf("site %s: %w", local, ErrNotMember)
	}
	return c, nil
}

// ListenOn makes the local member accept its peers at addr (host:port) instead of
// at its advertised peer address, and its own daemon's client on the loopback address
// local (default 127.0.0.1). In a pod the advertised address is a load balancer's,
// which the pod cannot bind: the member listens on the pod's addresses
// ("0.0.0.0:2380") and the load balancer sends the peers there. With a relay, the
// relay takes addr and the member sits behind it on local. The site's certificate
// names localhost, 127.0.0.1 and the site's daemon addresses, so the daemon's client
// verifies the member at any of them: pods that share one network namespace (on the
// node's network) each need their own local address, or their client ports collide.
func (c Cluster) ListenOn(addr, local string) (Cluster, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return c, fmt.Errorf("peer listen address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n+relayPortOffset > 65535 {
		return c, fmt.Errorf("peer listen address %q: port must be 1-%d", addr, 65535-relayPortOffset)
	}
	if local == "" {
		local = "127.0.0.1"
	}
	if ip := net.ParseIP(local); ip == nil || ip.IsUnspecified() {
		return c, fmt.Errorf("local listen address %q: want one IP address", local)
	}
	c.ListenClient = "https://" + net.JoinHostPort(local, DefaultClientPort)
	if c.Relay == nil {
		c.ListenPeer = "https://" + addr
		return c, nil
	}
	r := *c.Relay
	r.Listen = addr
	r.Internal = net.JoinHostPort(local, strconv.Itoa(n+relayPortOffset))
	c.Relay = &r
	c.ListenPeer = "https://" + r.Internal
	return c, nil
}
