package topology

import (
	"testing"
)

// TestMemberPods: with memberPods every member is at its site's pod gateway (the set's
// k-th member at port 15432+k) with no data directory in the fleet, and the links reach
// them as if they were at their usual 127 addresses (the listeners' upstream is the
// gateway).
func TestMemberPods(t *testing.T) {
	c := Default()
	c.RealNodes, c.MemberPods = 2, true
	off := false
	c.Backups = &off
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	ms := c.Members()
	want := map[string][2]string{"east-0": {"10.244.1.1:15432", "127.0.1.21:5432"}, "east-1": {"10.244.1.1:15433", "127.0.1.22:5432"},
		"west-0": {"10.244.2.1:15434", "127.0.2.21:5432"}}
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
		// Other workload regions dial it at their own gateway (same port), the
		// witness's region at the link's listener.
		from := map[string]map[string]string{
			"east-0": {"us-west-2": "10.244.2.1:15432", "eu-central-1": "127.3.1.21:5432"},
			"east-1": {"us-west-2": "10.244.2.1:15433", "eu-central-1": "127.3.1.22:5432"},
			"west-0": {"us-east-1": "10.244.1.1:15434", "eu-central-1": "127.3.2.21:5432"},
		}[m.Name]
		for region, want := range from {
			if got := m.Address.From(region); got != want {
				t.Errorf("member %s from %s: %s, want %s", m.Name, region, got, want)
			}
		}
	}
	proxies, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	// Every cross-region path to a member in a pod is a link whose upstream is the
	// member's site's gateway.
	links := map[[2]string][2]string{
		{"postgres-east-0", "west"}: {"127.2.1.21:5432", "10.244.1.1:15432"},
		{"postgres-west-0", "east"}: {"127.1.2.21:5432", "10.244.2.1:15434"},
	}
	for _, p := range proxies {
		w, ok := links[[2]string{p.Service, p.From}]
		if !ok {
			continue
		}
		delete(links, [2]string{p.Service, p.From})
		if p.Listen != w[0] || p.Upstream != w[1] {
			t.Errorf("proxy %+v, want listen %s upstream %s", p, w[0], w[1])
		}
	}
	if len(links) > 0 {
		t.Errorf("no link listener for %v", links)
	}
	// West's gateway forwards to east-0 through the link's listener in west's range.
	west, _ := c.Site("west")
	if got, err := c.LinkTo(west, ms[0]); err != nil || got != "127.2.1.21:5432" {
		t.Errorf("west's gateway reaches east-0 at %s (%v), want 127.2.1.21:5432", got, err)
	}
	c.RealNodes = 1
	if err := c.Validate(); err == nil {
		t.Error("memberPods with one real node validates")
	}
}

// TestMemberPodsArchive: with memberPods and backups, the members archive from their
// pods, so each workload region reaches the object store at its pod gateway (port
// 19443), whose route is the region's own link to the store; the witness's region
// has the store itself. The store's certificate names the gateways.
func TestMemberPodsArchive(t *testing.T) {
	c := Default()
	c.RealNodes, c.MemberPods = 2, true
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	_, _, sets := c.Fleet(Paths{PostgresDir: "/pg", ObjectStoreDir: "/store", CACert: "/ca.crt"})
	b := sets[0].Spec.Backup
	if b == nil || b.Repository.S3 == nil {
		t.Fatal("memberPods with backups: no spec.backup.repository.s3")
	}
	want := map[string]string{"us-east-1": "10.244.1.1:19443", "us-west-2": "10.244.2.1:19443"}
	for region, addr := range want {
		if got := b.Repository.S3.FromRegions[region]; got != addr {
			t.Errorf("store from %s: %q, want %q", region, got, addr)
		}
	}
	if b.RestoreWhenNoMember {
		t.Error("memberPods: restoreWhenNoMember on, but a restore builds a member on the daemon's machine")
	}
	hosts := map[string]bool{}
	for _, h := range c.ObjectStoreHosts() {
		hosts[h] = true
	}
	for _, h := range []string{"10.244.1.1", "10.244.2.1", "127.0.3.60"} {
		if !hosts[h] {
			t.Errorf("store certificate lacks %s: %v", h, c.ObjectStoreHosts())
		}
	}
	for name, wantAddr := range map[string]string{"east": "127.1.3.60:9443", "west": "127.2.3.60:9443", "witness": "127.0.3.60:9443"} {
		s, _ := c.Site(name)
		if got, err := c.ObjectStoreFrom(s); err != nil || got != wantAddr {
			t.Errorf("store from %s's host: %s (%v), want %s", name, got, err, wantAddr)
		}
	}
	// Without members in pods the regions reach it at their links' listeners.
	c.MemberPods = false
	_, _, sets = c.Fleet(Paths{PostgresDir: "/pg", ObjectStoreDir: "/store", CACert: "/ca.crt"})
	if got := sets[0].Spec.Backup.Repository.S3.FromRegions["us-east-1"]; got != "127.1.3.60:9443" {
		t.Errorf("store from us-east-1 without memberPods: %q", got)
	}
}
