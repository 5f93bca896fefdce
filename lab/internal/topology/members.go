package topology

// Member is a PostgreSQL member of the demo's mirror set.
type Member struct {
	Name    string
	Site    string
	Region  string
	Zone    string
	Role    string // primary, failover, dr-async
	Address string
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
			out = append(out,
				Member{Name: s.Name + "-0", Site: s.Name, Region: s.Region, Zone: zoneAt(s, 0), Role: "primary", Address: s.Postgres(0)},
				Member{Name: s.Name + "-1", Site: s.Name, Region: s.Region, Zone: zoneAt(s, 1), Role: "failover", Address: s.Postgres(1)},
			)
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
