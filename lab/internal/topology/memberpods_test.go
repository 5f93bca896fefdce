package topology

import (
	"testing"
)

// TestMemberPods: with memberPods the first site's two members are at its pod
// gateway, have no data directory in the fleet, and the links reach them as if they
// were at their usual 127 addresses (the listeners' upstream is the gateway).
func TestMemberPods(t *testing.T) {
	c := Default()
	c.RealNodes, c.MemberPods = 2, true
	off := false
	c.Backups = &off
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	ms := c.Members()
	want := map[string][2]string{"east-0": {"10.244.1.1:15432", "127.0.1.21:5432"}, "east-1": {"10.244.1.1:15433", "127.0.1.22:5432"}}
	for _, m := range ms {
		w, pod := want[m.Name]
		if m.Pod != pod || (pod && (m.Address != w[0] || m.In != w[1])) {
			t.Errorf("member %s: pod %v address %s in %s; want pod %v %v", m.Name, m.Pod, m.Address, m.In, pod, w)
		}
	}
	_, _, sets := c.Fleet(Paths{PostgresDir: "/pg"})
	for _, m := range sets[0].Spec.Members {
		_, pod := want[m.Name]
		if pod != (m.DataDir == "") {
			t.Errorf("member %s: dataDir %q", m.Name, m.DataDir)
		}
		if pod && m.Address.From("us-west-2") != "127.2.1."+map[string]string{"east-0": "21", "east-1": "22"}[m.Name]+":5432" {
			t.Errorf("member %s from west: %s", m.Name, m.Address.From("us-west-2"))
		}
	}
	proxies, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range proxies {
		if p.Service == "postgres-east-0" && p.From == "west" {
			found = p.Listen == "127.2.1.21:5432" && p.Upstream == "10.244.1.1:15432"
			if !found {
				t.Errorf("proxy %+v", p)
			}
		}
	}
	if !found {
		t.Error("no link listener from west to east-0")
	}
	c.RealNodes = 1
	if err := c.Validate(); err == nil {
		t.Error("memberPods with one real node validates")
	}
}
