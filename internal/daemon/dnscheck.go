package daemon

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"hadron.dev/hadron/internal/gslb"
)

// nameServerAnswer is what one daemon's name server answers for a main name.
type nameServerAnswer struct {
	site string
	ips  []string
	err  error
}

// checkMainName asks every daemon's name server, as a client in this daemon's region
// would, what the application's main name answers, and fails (for the verify step to
// retry) while one of them answers an address that is not target's. A name server that
// does not answer, or answers nothing (a self-fenced daemon), is reported, not failed:
// it sends no client to the old site.
func (d *Daemon) checkMainName(app string) func(ctx context.Context, target string) (string, error) {
	var name string
	for _, a := range d.catalog.Apps {
		if a.Name == app {
			name = mainName(a)
		}
	}
	if name == "" {
		return nil
	}
	return func(ctx context.Context, target string) (string, error) {
		want := d.lbIPs(target)
		answers := d.askNameServers(ctx, name)
		var ok, silent, wrong []string
		for _, a := range answers {
			switch {
			case a.err != nil || len(a.ips) == 0:
				silent = append(silent, a.site)
			case allIn(a.ips, want):
				ok = append(ok, a.site)
			default:
				wrong = append(wrong, fmt.Sprintf("%s answers %s", a.site, strings.Join(a.ips, ",")))
			}
		}
		if len(wrong) > 0 {
			return "", fmt.Errorf("%s does not answer %s everywhere yet: %s", name, target, strings.Join(wrong, "; "))
		}
		detail := fmt.Sprintf("%s answers %s at %d/%d name servers", name, target, len(ok), len(answers))
		if len(silent) > 0 {
			detail += " (no answer from " + strings.Join(silent, ", ") + ")"
		}
		return detail, nil
	}
}

// lbIPs are the addresses of site's load balancers, as seen from every region.
func (d *Daemon) lbIPs(site string) map[string]bool {
	out := map[string]bool{}
	s := d.opts.Fleet.Site(site)
	if s == nil {
		return out
	}
	for _, lb := range s.Spec.LoadBalancers {
		for _, addr := range append([]string{lb.Address}, slices.Collect(maps.Values(lb.FromRegions))...) {
			host := addr
			if h, _, err := net.SplitHostPort(addr); err == nil {
				host = h
			}
			out[host] = true
		}
	}
	return out
}

func (d *Daemon) askNameServers(ctx context.Context, name string) []nameServerAnswer {
	var out []nameServerAnswer
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range d.opts.Fleet.Sites {
		if s.Spec.Daemon == nil || s.Spec.Daemon.DNS == nil {
			continue
		}
		addr := s.Spec.Daemon.DNS.From(d.site.Spec.Region)
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			a := nameServerAnswer{site: s.Name}
			a.ips, _, a.err = gslb.LookupA(qctx, addr, name)
			mu.Lock()
			out = append(out, a)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].site < out[j].site })
	return out
}

func allIn(ips []string, want map[string]bool) bool {
	for _, ip := range ips {
		if !want[ip] {
			return false
		}
	}
	return true
}
