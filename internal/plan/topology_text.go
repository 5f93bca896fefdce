package plan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText implements Section: sites by region and zone, then applications, then
// mirror sets, then the voting sites.
func (t *Topology) WriteText(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Sites")
	for _, r := range t.Regions {
		p("  region %s", r.Name)
		for _, s := range r.Sites {
			p("    %s\t%s", s.Name, siteLine(s))
			for _, lb := range s.LoadBalancers {
				p("      load balancer\t%s", endpointText(lb))
			}
			if len(s.ClientSubnets) > 0 {
				p("      client subnets\t%s", strings.Join(s.ClientSubnets, ", "))
			}
			if d := s.Daemon; d != nil {
				p("      daemon api\t%s", endpointText(d.API))
				if d.Peer != nil {
					p("      daemon peer\t%s", endpointText(*d.Peer))
				}
				if d.DNS != nil {
					p("      daemon dns\t%s", endpointText(*d.DNS))
				}
			}
			for _, z := range s.Zones {
				name := "zone " + z.Name
				if z.Name == "" {
					name = "no zone"
				}
				p("      %s\t%s", name, zoneMembers(z.Members))
			}
		}
	}
	p("")
	p("Applications")
	if len(t.Applications) == 0 {
		p("  (none)")
	}
	for _, a := range t.Applications {
		p("  %s\t%s, namespace %s", a.Name, a.Mode, a.Namespace)
		if a.Mode == "active-active" {
			p("    sites\t%s (all serve; %s listed first)", strings.Join(append([]string{a.ActiveSite}, a.StandbySites...), ", "), a.ActiveSite)
		} else {
			p("    active\t%s", a.ActiveSite)
		}
		switch {
		case a.Mode == "active-active":
		case len(a.StandbySites) > 0:
			p("    stand-by\t%s (%s)", strings.Join(a.StandbySites, ", "), a.Standby)
		default:
			p("    stand-by\tnone")
		}
		switch af := a.AutomaticFailover; {
		case af != nil:
			p("    failover\tautomatic after %s down by quorum, at most once per %s", af.Threshold, af.MinInterval)
		default:
			p("    failover\tmanual")
		}
		if a.RPO != "" {
			p("    rpo\t%s", a.RPO)
		}
		if d := a.DataLoss; d != nil {
			mode := d.Mode
			if d.Bound != "" {
				mode += " " + d.Bound
			}
			p("    data loss\t%s", mode)
			p("      commits wait for\t%s", d.Commits)
			p("      a region costs\t%s", d.Loss)
		}
		for _, c := range a.Capacity {
			p("    capacity\t%s", c)
		}
		if d := a.DNS; d != nil {
			p("    dns\t%s (zone %s), %s, ttl %ds", d.Name, d.Zone, d.Strategy, d.TTL)
			for _, s := range sortedKeys(d.SiteNames) {
				weight := ""
				if v, ok := d.Weights[s]; ok {
					weight = fmt.Sprintf(", weight %d", v)
				}
				p("    dns %s\t%s%s", s, d.SiteNames[s], weight)
			}
		}
		p("    health\t%s", healthText(a.Health))
		if a.MirrorSet != "" {
			p("    data\tmirror set %s", a.MirrorSet)
		}
	}
	p("")
	p("Mirror sets")
	if len(t.MirrorSets) == 0 {
		p("  (none)")
	}
	for _, m := range t.MirrorSets {
		mode := "asynchronous"
		if m.Synchronous {
			mode = "synchronous failover members"
		}
		db := ""
		if m.Database != "" {
			db = ", database " + m.Database
		}
		p("  %s\t%s%s, %s", m.Name, m.Engine, db, mode)
		for _, mb := range m.Members {
			where := mb.Site + " / " + mb.Region
			if mb.Zone != "" {
				where += " / " + mb.Zone
			}
			p("    %s\t%s\t%s\t%s", mb.Name, mb.Role, where, endpointText(mb.Address))
		}
	}
	p("")
	p("Voting sites\t%s (%d, majority %d)", strings.Join(t.Voting.Sites, ", "), len(t.Voting.Sites), t.Voting.Majority)
	return w.Flush()
}

func siteLine(s Site) string {
	parts := []string{s.Role}
	if s.Role == "witness" {
		parts[0] = "witness (votes only)"
	}
	if s.KubeContext != "" {
		parts = append(parts, "context "+s.KubeContext)
	}
	if s.Kubeconfig != "" {
		parts = append(parts, "kubeconfig "+s.Kubeconfig)
	}
	return strings.Join(parts, ", ")
}

func endpointText(e Endpoint) string {
	s := e.Address
	for _, r := range sortedKeys(e.FromRegions) {
		s += fmt.Sprintf(" (from %s: %s)", r, e.FromRegions[r])
	}
	return s
}

func zoneMembers(ms []ZoneMember) string {
	if len(ms) == 0 {
		return "-"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s/%s %s", m.MirrorSet, m.Member, m.Role)
	}
	return strings.Join(parts, ", ")
}

func healthText(h Health) string {
	s := h.Type
	if h.Path != "" {
		s += " " + h.Path
	}
	if h.Port != 0 {
		s += fmt.Sprintf(" port %d", h.Port)
	}
	return s + fmt.Sprintf(" every %s, timeout %s, up after %d passes, down after %d failures", h.Interval, h.Timeout, h.Rise, h.Fall)
}
