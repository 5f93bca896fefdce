package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

// nameServer is one daemon's name server, at the address this daemon's region uses.
type nameServer struct{ site, addr string }

// nameServerAnswer is what one daemon's name server answered for a main name; pending
// while it has not answered yet.
type nameServerAnswer struct {
	site    string
	ips     []string
	err     error
	pending bool
}

// mainNameVerdict is what the answers so far say of the main name.
type mainNameVerdict struct {
	// decided: no answer still awaited can change verified.
	decided, verified bool
	agree             []string // the sites whose name server answers only the target
	// others says, per name server that does not agree, what it answered.
	others []string
	wrong  bool // a name server answers an address that is not the target's
}

// judgeMainName decides from the answers so far whether the main name answers the
// target (want are its addresses): verified as soon as quorum name servers answer only
// want and none has answered anything else (a name server answering another address
// sends clients elsewhere); failed once every name server answered without that. A
// name server that fails, or answers no address (a self-fenced daemon), does not count
// towards the quorum. A failure waits for every answer so that it can say what each
// name server did; it is retried anyway.
func judgeMainName(answers []nameServerAnswer, want map[string]bool, quorum int) mainNameVerdict {
	var v mainNameVerdict
	pending := 0
	for _, a := range answers {
		switch {
		case a.pending:
			pending++
			v.others = append(v.others, a.site+": no answer yet")
		case a.err != nil:
			v.others = append(v.others, a.site+": no answer ("+lookupFailure(a.err)+")")
		case len(a.ips) == 0:
			v.others = append(v.others, a.site+": answers no address")
		case allIn(a.ips, want):
			v.agree = append(v.agree, a.site)
		default:
			v.wrong = true
			v.others = append(v.others, a.site+" answers "+strings.Join(a.ips, ","))
		}
	}
	v.verified = !v.wrong && len(v.agree) >= quorum
	v.decided = v.verified || pending == 0
	return v
}

// lookupFailure says briefly why a name server gave no answer.
func lookupFailure(err error) string {
	var rc *gslb.RcodeError
	var ne net.Error
	switch {
	case errors.As(err, &rc):
		return "answers " + dns.RcodeToString[rc.Rcode]
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return err.Error()
}

// nameServerTimeout bounds one query of the verify step's check.
const nameServerTimeout = time.Second

// mainNameCheck asks the name servers what an application's main name answers.
type mainNameCheck struct {
	name    string
	servers []nameServer
	// quorum is how many must answer the target.
	quorum int
	// timeout bounds each query.
	timeout time.Duration
}

// verifyQuorum is the policy's spec.dns.verifyQuorum, else a majority of n.
func verifyQuorum(set *int32, n int) int {
	if set != nil && *set > 0 {
		return int(*set)
	}
	return n/2 + 1
}

// run asks every name server at once and returns as soon as the answers decide
// (judgeMainName): a dead name server's timeout is not awaited once a quorum agrees.
func (c mainNameCheck) run(ctx context.Context, target string, want map[string]bool) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the queries still out are abandoned
	type reply struct {
		i int
		a nameServerAnswer
	}
	answers := make([]nameServerAnswer, len(c.servers))
	replies := make(chan reply, len(c.servers))
	for i, s := range c.servers {
		answers[i] = nameServerAnswer{site: s.site, pending: true}
		go func() {
			qctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			a := nameServerAnswer{site: s.site}
			a.ips, _, a.err = gslb.LookupA(qctx, s.addr, c.name)
			replies <- reply{i, a}
		}()
	}
	v := judgeMainName(answers, want, c.quorum)
	for range c.servers {
		if v.decided {
			break
		}
		r := <-replies
		answers[r.i] = r.a
		v = judgeMainName(answers, want, c.quorum)
	}
	counted := fmt.Sprintf("%s answers %s at %d/%d name servers (needs %d)", c.name, target, len(v.agree), len(c.servers), c.quorum)
	if len(v.others) > 0 {
		counted += "; " + strings.Join(v.others, "; ")
	}
	switch {
	case v.verified:
		return counted, nil
	case v.wrong:
		return "", fmt.Errorf("%s does not answer %s everywhere yet: %s", c.name, target, strings.Join(v.others, "; "))
	}
	return "", fmt.Errorf("too few name servers answer: %s", counted)
}

// checks are the runs' verifications from this daemon: the application's own probe of
// a site through its load balancers (site) and the main name at every daemon's name
// server (mainName).
type checks struct {
	fleet   *fleet.Fleet
	here    *v1alpha1.Site // this daemon's site
	catalog *gslb.Catalog
	targets []probe.Target // this daemon's probe targets
}

// site is the application's own probe of a site through its load balancers, as seen
// from this daemon's region: verification that the target serves.
func (c *checks) site(app string) func(ctx context.Context, site string) (string, error) {
	return func(ctx context.Context, site string) (string, error) {
		var errs []string
		for _, t := range c.targets {
			if t.App != app || t.Site != site {
				continue
			}
			for _, addr := range t.Addrs {
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				res := t.Checker.Check(cctx, addr)
				cancel()
				if res.OK {
					return "health check ok at " + addr, nil
				}
				errs = append(errs, addr+": "+res.Err)
			}
		}
		if len(errs) == 0 {
			return "no load balancer to check", nil
		}
		return "", fmt.Errorf("health check of %s failed: %s", site, strings.Join(errs, "; "))
	}
}

// mainName asks every daemon's name server, as a client in this daemon's region
// would, what the application's main name answers, and fails (for the verify step to
// retry) until the policy's verifyQuorum of them (default a majority) answer the
// target's addresses, and while one answers another address. The detail and the error
// name the name servers that did not answer the target, with what they answered.
func (c *checks) mainName(app string) func(ctx context.Context, target string) (string, error) {
	var name string
	for _, a := range c.catalog.Apps {
		if a.Name == app {
			name = mainName(a)
		}
	}
	servers := c.nameServers()
	if name == "" || len(servers) == 0 {
		return nil
	}
	var set *int32
	if a := c.fleet.Application(app); a != nil && a.Spec.DNS != nil {
		set = a.Spec.DNS.VerifyQuorum
	}
	mc := mainNameCheck{name: name, servers: servers, quorum: verifyQuorum(set, len(servers)), timeout: nameServerTimeout}
	return func(ctx context.Context, target string) (string, error) {
		return mc.run(ctx, target, c.lbIPs(target))
	}
}

// nameServers are the daemons' name servers as this daemon's region reaches them,
// by site name.
func (c *checks) nameServers() []nameServer {
	var out []nameServer
	for _, s := range c.fleet.Sites {
		if s.Spec.Daemon == nil || s.Spec.Daemon.DNS == nil {
			continue
		}
		out = append(out, nameServer{site: s.Name, addr: s.Spec.Daemon.DNS.From(c.here.Spec.Region)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].site < out[j].site })
	return out
}

// lbIPs are the addresses of site's load balancers, as seen from every region.
func (c *checks) lbIPs(site string) map[string]bool {
	out := map[string]bool{}
	s := c.fleet.Site(site)
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

func allIn(ips []string, want map[string]bool) bool {
	for _, ip := range ips {
		if !want[ip] {
			return false
		}
	}
	return true
}
