package labworld

import (
	"fmt"
	"strings"
	"time"

	"hadron.dev/hadron/lab/internal/world"
)

// What a lab action would change, from the lab's status now: --dry-run prints it and
// changes nothing. Each is a pure function of the status and the request.

// planLink says what a link request would change.
func planLink(st world.Status, req world.LinkRequest) (string, error) {
	for _, l := range st.Links {
		if l.Link != req.A+"-"+req.B && l.Link != req.B+"-"+req.A {
			continue
		}
		now := "up"
		if l.Cut {
			now = "cut"
		}
		switch req.Action {
		case "cut":
			if l.Cut {
				return fmt.Sprintf("link %s is cut already: nothing to do", l.Link), nil
			}
			return fmt.Sprintf("would cut link %s (now up, %s one-way): its %d proxies refuse new connections and close open ones", l.Link, l.Latency, l.Proxies), nil
		case "heal":
			if !l.Cut {
				return fmt.Sprintf("link %s is up already: nothing to do", l.Link), nil
			}
			return fmt.Sprintf("would heal link %s (now cut): its %d proxies accept connections again", l.Link, l.Proxies), nil
		default:
			return fmt.Sprintf("would set the one-way latency of link %s (now %s) from %s to %s", l.Link, now, l.Latency, req.Latency), nil
		}
	}
	return "", fmt.Errorf("no link between %s and %s in the lab (links: %s)", req.A, req.B, linkNames(st))
}

func linkNames(st world.Status) string {
	var out []string
	for _, l := range st.Links {
		out = append(out, l.Link)
	}
	return strings.Join(out, ", ")
}

// planFault says what a fault request would change.
func planFault(st world.Status, req world.FaultRequest) (string, error) {
	switch req.Kind {
	case "site":
		for _, s := range st.Sites {
			if s.Name != req.Name {
				continue
			}
			switch {
			case req.Action == "fail" && s.Failed:
				return fmt.Sprintf("site %s has failed already: nothing to do", s.Name), nil
			case req.Action == "fail":
				return fmt.Sprintf("would fail site %s (now: control plane %s, %d ready pods): its load balancer stops first, then every process of the site is killed", s.Name, firstLine(s.ControlPlane), s.ReadyPods), nil
			case !s.Failed:
				return fmt.Sprintf("site %s has not failed: nothing to restore", s.Name), nil
			}
			return fmt.Sprintf("would restore site %s: its processes start again, then its load balancer", s.Name), nil
		}
	case "zone":
		for _, s := range st.Sites {
			for _, z := range s.Zones {
				if z.Zone != req.Name {
					continue
				}
				if req.Action == "fail" {
					var members []string
					for _, m := range st.Databases {
						if m.Zone == z.Zone {
							members = append(members, m.Name)
						}
					}
					return fmt.Sprintf("would fail zone %s of site %s: its %d nodes (%d ready now) go NotReady and their pods are evicted; database members stopped: %s", z.Zone, s.Name, z.Total, z.Ready, orNone(members)), nil
				}
				return fmt.Sprintf("would restore zone %s of site %s: its %d nodes (%d ready now) become Ready", z.Zone, s.Name, z.Total, z.Ready), nil
			}
		}
	case "node":
		if req.Action == "fail" {
			return fmt.Sprintf("would fail node %s: it goes NotReady and its pods are evicted", req.Name), nil
		}
		return fmt.Sprintf("would restore node %s: it becomes Ready", req.Name), nil
	case "process":
		return fmt.Sprintf("would kill process %s (SIGKILL); the lab starts it again after %s", req.Name, req.Delay), nil
	case "daemon":
		if req.Action == "fail" {
			return fmt.Sprintf("would kill the daemon of site %s; it stays down until `restore daemon %s`", req.Name, req.Name), nil
		}
		return fmt.Sprintf("would start the daemon of site %s again", req.Name), nil
	default:
		return "", fmt.Errorf("%s %q: want node, zone, site, process or daemon", req.Action, req.Kind)
	}
	return "", fmt.Errorf("no %s %q in the lab", req.Kind, req.Name)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// planDown says what `down` would stop and remove.
func planDown(st world.Status, running bool, keep bool) string {
	var b strings.Builder
	if running {
		fmt.Fprintf(&b, "would stop the lab in %s (%s, up since %s): %d sites, %d links, %d database members\n",
			st.Dir, st.Phase, st.StartedAt.Format(time.RFC3339), len(st.Sites), len(st.Links), len(st.Databases))
	} else {
		fmt.Fprintf(&b, "no supervisor runs in %s: would stop whatever processes it left\n", st.Dir)
	}
	if keep {
		b.WriteString("would keep the state directory\n")
	} else {
		fmt.Fprintf(&b, "would remove %s\n", st.Dir)
	}
	return b.String()
}
