package standalone

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/probe"
)

func TestMainNameFailsOverWhenActiveEndpointStops(t *testing.T) {
	east, west := startLB(t, "127.0.0.1"), startLB(t, "127.0.0.2")
	f := testFleet([]v1alpha1.Endpoint{ep(east.addr, nil)}, []v1alpha1.Endpoint{ep(west.addr, nil)})
	n := startNode(t, f, []Observer{{"east", "us-east"}, {"west", "us-west"}, {"witness", "eu"}})
	short := func() string { return strings.TrimSpace(dig(t, n, "shop.gslb.test", "A", "+short")) }

	eventually(t, 10*time.Second, "both sites up", func() bool {
		v := n.Tracker.Verdicts("shop")
		return v["east"] == probe.Up && v["west"] == probe.Up
	})
	if got := short(); got != "127.0.0.1" {
		t.Fatalf("main name answers %q before the failure, want east 127.0.0.1", got)
	}
	east.stop()
	eventually(t, 10*time.Second, "main name answers west", func() bool { return short() == "127.0.0.2" })
	if got := strings.TrimSpace(dig(t, n, "east.shop.gslb.test", "A", "+short")); got != "127.0.0.1" {
		t.Errorf("per-site name of the failed site answers %q, want its own address", got)
	}
	if v := n.Tracker.Verdicts("shop")["east"]; v != probe.Down {
		t.Errorf("east is %s, want down", v)
	}
}

func TestNoFailoverWhenOneObserverOfThreeLosesSite(t *testing.T) {
	east, west := startLB(t, "127.0.0.1"), startLB(t, "127.0.0.2")
	// From us-west, east's load balancer is reached through a link that is cut.
	f := testFleet([]v1alpha1.Endpoint{ep(east.addr, map[string]string{"us-west": deadAddr(t)})}, []v1alpha1.Endpoint{ep(west.addr, nil)})
	// Count what the cut-off observer sees, then let it see the failure for longer
	// than the fall threshold.
	var westSawEastFail atomic.Int32
	n := startNode(t, f, []Observer{{"east", "us-east"}, {"west", "us-west"}, {"witness", "eu"}}, func(n *Node) {
		for _, r := range n.runners {
			r.Record = func(ob probe.Observation) {
				if ob.Observer == "west" && ob.Site == "east" && !ob.OK {
					westSawEastFail.Add(1)
				}
				n.Tracker.Record(ob)
			}
		}
	})
	eventually(t, 10*time.Second, "west observer saw east fail 2×fall times", func() bool {
		return westSawEastFail.Load() >= 6
	})
	if v := n.Tracker.Verdicts("shop")["east"]; v != probe.Up {
		t.Fatalf("east is %s after one observer of three lost it, want up", v)
	}
	if got := strings.TrimSpace(dig(t, n, "shop.gslb.test", "A", "+short")); got != "127.0.0.1" {
		t.Fatalf("main name answers %q, want east 127.0.0.1 (no failover)", got)
	}
}
