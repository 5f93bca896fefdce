package member

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

func TestPlan(t *testing.T) {
	site := func(name, peer string) *v1alpha1.Site {
		s := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if peer != "" {
			s.Spec.Daemon = &v1alpha1.DaemonSpec{Peer: &v1alpha1.Endpoint{Address: peer,
				FromRegions: map[string]string{"other": "127.9.9.9:2380"}}}
		}
		return s
	}
	f := &fleet.Fleet{Sites: []*v1alpha1.Site{site("east", "127.0.1.40:2380"), site("nodaemon", ""), site("west", "127.0.2.40:2380")}}
	c, err := Plan(f, "west")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.InitialCluster(), "east=https://127.0.1.40:2380,west=https://127.0.2.40:2380"; got != want {
		t.Errorf("initial cluster %q, want %q", got, want)
	}
	// Per-region peer addresses put a relay on the advertised address and the member
	// behind it.
	if c.ListenPeer != "https://127.0.2.40:12380" || c.ListenClient != "https://127.0.2.40:2379" || c.Local.Name != "west" || c.Relay == nil {
		t.Errorf("local member %+v", c)
	}
	if c.Relay.Listen != "127.0.2.40:2380" || len(c.Relay.Routes) != 0 {
		t.Errorf("west's relay: %+v (east's fromRegions name no region of west's)", c.Relay)
	}
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			s.Spec.Daemon.Peer.FromRegions = nil
		}
	}
	c, err = Plan(f, "west")
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenPeer != "https://127.0.2.40:2380" || c.Relay != nil {
		t.Errorf("without per-region addresses the member listens itself: %+v", c)
	}
	if _, err := Plan(f, "nodaemon"); !errors.Is(err, ErrNotMember) {
		t.Errorf("site without daemon: %v, want ErrNotMember", err)
	}
	f.Sites = append(f.Sites, &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: v1alpha1.SiteSpec{Daemon: &v1alpha1.DaemonSpec{}}})
	if _, err := Plan(f, "east"); !errors.Is(err, ErrNoPeer) {
		t.Errorf("daemon without peer: %v, want ErrNoPeer", err)
	}
}

// In a pod the member binds the pod's addresses and keeps advertising the load
// balancer's: the cluster's membership is unchanged, only the listeners move.
func TestListenOn(t *testing.T) {
	lb := func(name, addr string, fromRegions map[string]string) *v1alpha1.Site {
		return &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.SiteSpec{Daemon: &v1alpha1.DaemonSpec{Peer: &v1alpha1.Endpoint{Address: addr, FromRegions: fromRegions}}}}
	}
	f := &fleet.Fleet{Sites: []*v1alpha1.Site{lb("east", "10.0.1.5:2380", nil), lb("west", "10.0.2.5:2380", nil)}}
	c, err := Plan(f, "east")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ListenOn("0.0.0.0:2380", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.ListenPeer != "https://0.0.0.0:2380" || got.ListenClient != "https://127.0.0.1:2379" ||
		got.Local.PeerURL != "https://10.0.1.5:2380" || got.InitialCluster() != c.InitialCluster() {
		t.Errorf("ListenOn without a relay: %+v", got)
	}
	f.Sites[1].Spec.Daemon.Peer.FromRegions = map[string]string{"r1": "10.9.9.9:2380"}
	c, err = Plan(f, "east")
	if err != nil || c.Relay == nil {
		t.Fatalf("plan with per-region addresses: %+v %v", c, err)
	}
	relay := *c.Relay
	got, err = c.ListenOn("0.0.0.0:2380", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Relay.Listen != "0.0.0.0:2380" || got.Relay.Internal != "127.0.0.1:12380" || got.ListenPeer != "https://127.0.0.1:12380" {
		t.Errorf("ListenOn with a relay: %+v, relay %+v", got, got.Relay)
	}
	// Pods on the node's network share its loopback: each daemon gets its own.
	got, err = c.ListenOn("10.244.1.1:2380", "127.0.1.5")
	if err != nil || got.ListenClient != "https://127.0.1.5:2379" || got.Relay.Internal != "127.0.1.5:12380" || got.ListenPeer != "https://127.0.1.5:12380" {
		t.Errorf("ListenOn with a local address: %+v, relay %+v, %v", got, got.Relay, err)
	}
	for _, bad := range []string{"0.0.0.0", "localhost", "127.0.1.5:2379"} {
		if _, err := c.ListenOn("0.0.0.0:2380", bad); err == nil {
			t.Errorf("ListenOn with local %q accepted", bad)
		}
	}
	if c.Relay.Listen != relay.Listen {
		t.Errorf("ListenOn changed the plan it was given: relay %+v", c.Relay)
	}
	for _, bad := range []string{"2380", "0.0.0.0:http", "0.0.0.0:60000", ":0"} {
		if _, err := c.ListenOn(bad, ""); err == nil {
			t.Errorf("ListenOn(%q) accepted", bad)
		}
	}
}
