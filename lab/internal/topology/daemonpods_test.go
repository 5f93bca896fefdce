package topology

import (
	"slices"
	"testing"
)

// TestDaemonPods: with the daemons in pods the witness gets a cluster (a context in the
// fleet, an API server the other regions reach through a link, one real node in a
// zone of its region); without, nothing about it changes.
func TestDaemonPods(t *testing.T) {
	c := Default()
	c.RealNodes = 2
	witness, _ := c.Site("witness")
	east, _ := c.Site("east")
	if c.Clustered(witness) || c.RealNodesOf(witness) != 0 || c.RealNodesOf(east) != 2 {
		t.Errorf("without daemonPods: witness clustered %v, %d real nodes; east %d", c.Clustered(witness), c.RealNodesOf(witness), c.RealNodesOf(east))
	}
	sites, _, _ := c.Fleet(Paths{Kubeconfig: "/k"})
	for _, s := range sites {
		if s.Name == "witness" && s.Spec.KubeContext != "" {
			t.Errorf("witness without daemonPods has kube context %q", s.Spec.KubeContext)
		}
	}
	c.DaemonPods = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Clustered(witness) || c.RealNodesOf(witness) != 1 || c.RealNodesOf(east) != 2 {
		t.Errorf("with daemonPods: witness clustered %v, %d real nodes; east %d", c.Clustered(witness), c.RealNodesOf(witness), c.RealNodesOf(east))
	}
	if z := witness.ClusterZones(); !slices.Equal(z, []string{"eu-central-1a"}) {
		t.Errorf("witness's cluster zones %v", z)
	}
	if z := east.ClusterZones(); !slices.Equal(z, east.Zones) {
		t.Errorf("east's cluster zones %v, want its own %v", z, east.Zones)
	}
	sites, _, _ = c.Fleet(Paths{Kubeconfig: "/k"})
	for _, s := range sites {
		if s.Spec.KubeContext != KubeContext(s.Name) || s.Spec.Kubeconfig != "/k" {
			t.Errorf("site %s: context %q in %q", s.Name, s.Spec.KubeContext, s.Spec.Kubeconfig)
		}
		if s.Name == "witness" && len(s.Spec.LoadBalancers) != 0 {
			t.Errorf("the witness has load balancers %v", s.Spec.LoadBalancers)
		}
	}
	proxies, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range proxies {
		found = found || (p.Service == "apiserver" && p.From == "east" && p.Upstream == witness.APIServer())
	}
	if !found {
		t.Error("no link from east to the witness's API server")
	}
	if witness.AddressPrefix() != "127.0.3." {
		t.Errorf("witness's address prefix %q", witness.AddressPrefix())
	}
}
