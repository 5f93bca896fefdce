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
// zone); in every other workload site one asynchronous DR member.
func (c Config) Members() []Member {
	if !c.DemoEnabled() {
		return nil
	}
	var out []Member
	first := true
	for _, s := range c.Indexed() {
		if !s.Workload() {
			continue
		}
		if first {
			first = false
			for k, role := range []string{"primary", "failover"} {
				m := Member{Name: fmt.Sprintf("%s-%d", s.Name, k), Site: s.Name, Region: s.Region, Zone: zoneAt(s, k), Role: role, Address: s.Postgres(k)}
				if c.MemberPods {
					// Member k is the k-th of the set: the gateway's port k is its.
					m.Pod, m.In = true, m.Address
					m.Address = hostPort(s.PodGateway(), PodMemberPort(len(out)))
				}
				out = append(out, m)
			}
			continue
		}
		out = append(out, Member{Name: s.Name + "-0", Site: s.Name, Region: s.Region, Zone: zoneAt(s, 0), Role: "dr-async", Address: s.Postgres(0)})
	}
	return out
}

func zoneAt(s Site, i int) string {
	if len(s.Zones) == 0 {
		return ""
	}
	return s.Zones[i%len(s.Zones)]
}
