package topology

import "fmt"

// Member is a PostgreSQL member of the demo's mirror set.
type Member struct {
	Name    string
	Site    string
	Region  string
	Zone    string
	Role    string // primary, failover, dr-async
	Address string
	// Pod: the member runs as a pod (a StatefulSet) on the site's real nodes, reached at
	// the site's pod gateway (Address), which forwards to the pod's IP; In is the
	// address in the region's 127 range that stands for it in the links' listeners.
	Pod bool
	In  string
}

// at is the address the links' listeners stand for.
func (m Member) at() string {
	if m.In != "" {
		return m.In
	}
	return m.Address
}

// Members lays out the demo's mirror set, as issue 5 and seed 000 describe it: in the
// first workload site a primary (first zone) and a synchronous failover member (second
// zone); in every other workload site one asynchronous DR member. With memberPods every
// member runs in a pod of its site, as seed 000's members do in two clusters.
func (c Config) Members() []Member {
	if !c.DemoEnabled() {
		return nil
	}
	var out []Member
	first := true
	add := func(s Site, k int, role string) {
		m := Member{Name: fmt.Sprintf("%s-%d", s.Name, k), Site: s.Name, Region: s.Region, Zone: zoneAt(s, k), Role: role, Address: s.Postgres(k)}
		if c.MemberPods {
			// Member i of the set has port i at every site's gateway.
			m.Pod, m.In = true, m.Address
			m.Address = hostPort(s.PodGateway(), PodMemberPort(len(out)))
		}
		out = append(out, m)
	}
	for _, s := range c.Indexed() {
		if !s.Workload() {
			continue
		}
		if first {
			first = false
			add(s, 0, "primary")
			add(s, 1, "failover")
			continue
		}
		add(s, 0, "dr-async")
	}
	return out
}

func zoneAt(s Site, i int) string {
	if len(s.Zones) == 0 {
		return ""
	}
	return s.Zones[i%len(s.Zones)]
}
