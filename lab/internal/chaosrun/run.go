package chaosrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/chaos"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/lab/internal/nodes"
	"hadron.dev/hadron/lab/internal/topology"
	"hadron.dev/hadron/lab/internal/world"
)

// Config is one chaos run.
type Config struct {
	Dir      world.Dir
	Seed     uint64
	Duration time.Duration
	Kinds    []string
	// Rate is each client's writes per second.
	Rate   float64
	Bounds chaos.Bounds
	// Progress receives one line per step (nil: none).
	Progress io.Writer
	Log      *slog.Logger
}

// Report is what `hadron lab chaos` prints.
type Report struct {
	Seed     uint64         `json:"seed"`
	Duration time.Duration  `json:"durationNs"`
	Faults   []string       `json:"faults"`
	Schedule []Step         `json:"schedule"`
	History  *chaos.History `json:"history,omitempty"`
	Result   *chaos.Result  `json:"result"`
}

// lab is what the runner knows of the lab it drives.
type lab struct {
	cfg     topology.Config
	fleet   *fleet.Fleet
	app     string
	home    string
	dnsName string
	port    string
	lbSite  map[string]string // load balancer IP → site
	member  map[string]string // member address (any region's view) → member
	site    map[string]string // member → site
	dnsSrv  map[string]string // daemon name server → its site
	clients []*api.Client
	labc    *world.Client
}

// TopologyOf reads the lab's config into what a schedule needs.
func TopologyOf(cfg topology.Config) Topology {
	t := Topology{Zones: map[string][]string{}, Nodes: map[string][]string{}}
	for _, s := range cfg.Indexed() {
		if !s.Workload() {
			t.Witness = s.Name
			continue
		}
		t.Workload = append(t.Workload, s.Name)
		t.Zones[s.Name] = s.Zones
		n := 2
		if s.NodesPerZone != nil {
			n = *s.NodesPerZone
		}
		for _, z := range s.Zones {
			for i := range n {
				t.Nodes[z] = append(t.Nodes[z], nodes.Name(s.Name, z, "", i))
			}
		}
	}
	for _, m := range cfg.Members() {
		t.Members = append(t.Members, m.Name)
	}
	return t
}

func open(dir world.Dir) (*lab, error) {
	cfg, err := topology.Load(dir.Config())
	if err != nil {
		return nil, err
	}
	f, err := fleet.Load(dir.Fleet())
	if err != nil {
		return nil, fmt.Errorf("the lab's fleet: %w", err)
	}
	l := &lab{cfg: cfg, fleet: f, app: topology.DemoApp, lbSite: map[string]string{}, member: map[string]string{}, site: map[string]string{}, dnsSrv: map[string]string{}, labc: world.NewClient(dir)}
	a := f.Application(l.app)
	if a == nil || a.Spec.DNS == nil {
		return nil, fmt.Errorf("the lab's fleet has no application %s with a DNS name", l.app)
	}
	l.home, l.dnsName = a.Spec.Policy.ActiveSite, a.Spec.DNS.Name
	for _, s := range f.Sites {
		for _, lb := range s.Spec.LoadBalancers {
			host, port, err := net.SplitHostPort(lb.Address)
			if err == nil {
				l.lbSite[host], l.port = s.Name, port
			}
		}
		if s.Spec.Daemon != nil && s.Spec.Daemon.DNS != nil {
			l.dnsSrv[s.Spec.Daemon.DNS.Address] = s.Name
		}
	}
	for _, ms := range f.MirrorSets {
		for _, m := range ms.Spec.Members {
			l.site[m.Name] = m.Site
			l.member[m.Address.Address] = m.Name
			for _, v := range m.Address.FromRegions {
				l.member[v] = m.Name
			}
		}
	}
	token, tlsCfg, err := coord.PKI{Dir: filepath.Join(string(dir), "hadron-pki")}.APICredentials("")
	if err != nil {
		return nil, fmt.Errorf("the lab's API credentials: %w", err)
	}
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			l.clients = append(l.clients, &api.Client{Addr: s.Spec.Daemon.API.Address, Site: s.Name, Token: token, TLS: tlsCfg})
		}
	}
	return l, nil
}

// PlanFor opens the lab in dir and draws its schedule (for --dry-run too).
func PlanFor(dir world.Dir, seed uint64, d time.Duration, kinds []string) ([]Step, error) {
	cfg, err := topology.Load(dir.Config())
	if err != nil {
		return nil, err
	}
	return Plan(seed, d, kinds, TopologyOf(cfg))
}

// Run drives the lab through the schedule under load, then checks the history.
func Run(ctx context.Context, c Config) (*Report, error) {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Rate <= 0 {
		c.Rate = 10
	}
	c.Bounds = c.Bounds.WithDefaults() // the TTL default is the lab fleet's (10 s)
	l, err := open(c.Dir)
	if err != nil {
		return nil, err
	}
	steps, err := Plan(c.Seed, c.Duration, c.Kinds, TopologyOf(l.cfg))
	if err != nil {
		return nil, err
	}
	rep := &Report{Seed: c.Seed, Duration: c.Duration, Faults: c.Kinds, Schedule: steps}
	// A run starts from a whole fleet, as it must end: a member still catching up
	// from the lab's start would otherwise be blamed on the first fault.
	c.say("waiting for the fleet to be whole before the first fault")
	for wait := time.Now().Add(c.Bounds.Recovery); ; {
		ok, why := l.healthy(ctx)
		if ok {
			break
		}
		if time.Now().After(wait) || ctx.Err() != nil {
			return nil, fmt.Errorf("the fleet is not whole before the run: %s", why)
		}
		sleepUntil(ctx, time.Now().Add(2*time.Second))
	}
	h := &chaos.History{Start: time.Now(), Regions: map[string]string{}, Lost: map[string][]int64{}}
	for _, s := range l.fleet.Sites {
		h.Regions[s.Name] = s.Spec.Region
	}
	c.say("chaos seed %d for %s: %d steps", c.Seed, c.Duration, len(steps))

	// Writers: one through the main name (a stub resolver over every daemon's name
	// server, keeping answers for their TTL) and one to each workload site directly.
	var servers []string
	for srv := range l.dnsSrv {
		servers = append(servers, srv)
	}
	slices.Sort(servers)
	res := &drill.Resolver{Servers: servers}
	type target struct {
		name, url string
		hc        *http.Client
	}
	targets := []target{{"main", "http://" + net.JoinHostPort(l.dnsName, l.port), res.HTTPClient(2 * time.Second)}}
	for _, s := range l.cfg.Indexed() {
		if s.Workload() {
			targets = append(targets, target{s.Name, "http://" + s.Ingress(), nil})
		}
	}
	runID := fmt.Sprintf("chaos-%d-%d", c.Seed, h.Start.Unix()%100000)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
	results := make([]*load.Result, len(targets))
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := load.Run(loadCtx, load.Config{URL: t.url, Client: runID + "-" + t.name, Rate: c.Rate, Duration: load.MaxDuration, Workers: 4, HTTPClient: t.hc, Timeout: 2 * time.Second})
			if err != nil {
				c.Log.Warn("writer", "target", t.name, "err", err)
			}
			results[i] = r
		}()
	}
	dnsCtx, stopDNS := context.WithCancel(ctx)
	defer stopDNS()
	var dnsMu sync.Mutex
	go l.sampleDNS(dnsCtx, time.Second, func(s chaos.DNSSample) {
		dnsMu.Lock()
		h.DNS = append(h.DNS, s)
		dnsMu.Unlock()
	})

	// The schedule.
	for _, st := range steps {
		if !sleepUntil(ctx, h.Start.Add(st.At)) {
			break
		}
		f := l.do(ctx, st, c)
		c.say("%s  %s%s", f.At.Sub(h.Start).Round(100*time.Millisecond), f.Action, errNote(f.Err))
		h.Faults = append(h.Faults, f)
	}
	sleepUntil(ctx, h.Start.Add(c.Duration))
	stopLoad()
	wg.Wait()

	// Full health: looked at until it comes or the bound has passed well.
	c.say("schedule done; waiting for the fleet to be whole again (bound %s)", c.Bounds.Recovery)
	deadline := time.Now().Add(c.Bounds.Recovery + 30*time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, why := l.healthy(ctx)
		h.Health = append(h.Health, chaos.Health{At: time.Now(), OK: ok, Why: why})
		if ok {
			break
		}
		sleepUntil(ctx, time.Now().Add(2*time.Second))
	}
	stopDNS()
	dnsMu.Lock()
	h.End = time.Now()
	dnsMu.Unlock()

	// Writes, and which acknowledged ones are gone.
	for i, r := range results {
		if r == nil {
			continue
		}
		for _, a := range r.Attempts {
			w := chaos.Write{Client: r.Client, Target: targets[i].name, Seq: a.Seq, Sent: a.Sent, Done: a.Done, OK: a.OK, Err: a.Err}
			if a.OK {
				w.Member = l.member[a.DB]
				w.MemberSite = l.site[w.Member]
			}
			h.Writes = append(h.Writes, w)
		}
		lost, err := l.lost(ctx, r)
		if err != nil {
			return rep, fmt.Errorf("reading back %s: %w", r.Client, err)
		}
		if len(lost) > 0 {
			h.Lost[r.Client] = lost
		}
	}
	runs, err := l.runs(ctx, h.Start)
	if err != nil {
		return rep, err
	}
	h.Runs = runs
	rep.History = h
	rep.Result = chaos.Check(h, c.Bounds)
	return rep, nil
}

func errNote(e string) string {
	if e == "" {
		return ""
	}
	return " — error: " + e
}

func (c *Config) say(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// do runs one step and records it.
func (l *lab) do(ctx context.Context, st Step, c Config) chaos.Fault {
	f := chaos.Fault{At: time.Now(), Action: st.String(), Repair: st.Repair, Kills: st.Kills}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var err error
	switch st.Do[0] {
	case "fail", "restore":
		req := world.FaultRequest{Action: st.Do[0], Kind: st.Do[1], Name: st.Do[2]}
		if len(st.Do) == 5 && st.Do[3] == "--delay" {
			req.Delay, _ = time.ParseDuration(st.Do[4])
		}
		err = l.labc.Fault(ctx, req)
	case "link":
		req := world.LinkRequest{Action: st.Do[1], A: st.Do[2], B: st.Do[3], OneWay: slices.Contains(st.Do, "--one-way")}
		if req.Action == "latency" {
			var ms int
			fmt.Sscan(st.Do[4], &ms)
			req.Latency = time.Duration(ms) * time.Millisecond
		}
		err = l.labc.Link(ctx, req)
	case "drain":
		_, err = l.labc.Drain(ctx, world.DrainRequest{Node: st.Do[2], Timeout: 20 * time.Second})
	case "restarted":
		// The lab restarts a killed process on its own; the step marks when.
	case "kill-leader":
		var leader string
		leader, err = l.killLeader(ctx)
		f.Action += " (" + leader + ")"
	case "move":
		var what string
		what, err = l.move(ctx)
		f.Action += " (" + what + ")"
		if err == nil && slices.Contains(st.Do, "--kill-leader-after") {
			time.Sleep(time.Second)
			leader, kerr := l.killLeader(ctx)
			f.Action += "; killed leader " + leader
			err = kerr
		}
	default:
		err = fmt.Errorf("unknown step %q", st.Do[0])
	}
	f.Took = time.Since(f.At)
	if err != nil {
		f.Err = err.Error()
		c.Log.Warn("chaos step", "step", st.String(), "err", err)
	}
	return f
}

func (l *lab) status(ctx context.Context) (api.Status, error) {
	return api.First(ctx, l.clients, 3*time.Second, 10*time.Second, func(ctx context.Context, c *api.Client) (api.Status, error) {
		st, err := c.Status(ctx)
		if err == nil && st.Leader == "" {
			return st, errors.New("no leader yet")
		}
		return st, err
	})
}

func (l *lab) killLeader(ctx context.Context) (string, error) {
	st, err := l.status(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the leader: %w", err)
	}
	return st.Leader, l.labc.Fault(ctx, world.FaultRequest{Action: "fail", Kind: world.FaultProcess, Name: "hadron-" + st.Leader, Delay: restartDelay})
}

// move asks for a failback when the application is away from home, a switchover to
// another workload site otherwise, as a person would.
func (l *lab) move(ctx context.Context) (string, error) {
	st, err := l.status(ctx)
	if err != nil {
		return "", err
	}
	active := ""
	for _, a := range st.Apps {
		if a.Name == l.app {
			active = a.Active
		}
	}
	req := api.RunRequest{App: l.app, Kind: runbook.Switchover}
	if active != l.home {
		req.Kind, req.To = runbook.Failback, l.home
	} else {
		for _, s := range l.cfg.Indexed() {
			if s.Workload() && s.Name != active {
				req.To = s.Name
				break
			}
		}
	}
	what := fmt.Sprintf("%s %s → %s", req.Kind, active, req.To)
	_, err = api.First(ctx, l.clients, 5*time.Second, 20*time.Second, func(ctx context.Context, c *api.Client) (*runbook.Record, error) {
		return c.StartRun(ctx, req)
	})
	return what, err
}

// sampleDNS asks every daemon's name server for the main name every interval.
func (l *lab) sampleDNS(ctx context.Context, every time.Duration, record func(chaos.DNSSample)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		l.sampleOnce(ctx, record)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleOnce asks each name server once.
func (l *lab) sampleOnce(ctx context.Context, record func(chaos.DNSSample)) {
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	for srv := range l.dnsSrv {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(l.dnsName), dns.TypeA)
		s := chaos.DNSSample{At: time.Now(), Server: srv}
		r, _, err := c.ExchangeContext(ctx, m, srv)
		switch {
		case err != nil:
			s.Err = err.Error()
		case r.Rcode != dns.RcodeSuccess:
			s.Err = dns.RcodeToString[r.Rcode]
		default:
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok {
					s.Site = l.lbSite[a.A.String()]
					break
				}
			}
		}
		record(s)
	}
}

// healthy: a leader, no open run, one primary and every other member streaming, and
// every name server answering the active site.
func (l *lab) healthy(ctx context.Context) (bool, string) {
	st, err := l.status(ctx)
	if err != nil {
		return false, err.Error()
	}
	for _, a := range st.Apps {
		if a.Name != l.app {
			continue
		}
		if a.Run != nil {
			return false, fmt.Sprintf("run %s %s is open (%s)", a.Run.Kind, a.Run.ID, a.Run.Status)
		}
		if a.Data == nil {
			return false, "no data observation"
		}
		primaries := 0
		for _, m := range a.Data.Members {
			switch m.State {
			case "primary":
				primaries++
			case "streaming":
			default:
				return false, fmt.Sprintf("member %s is %s", m.Name, m.State)
			}
		}
		if primaries != 1 {
			return false, fmt.Sprintf("%d primaries", primaries)
		}
		var bad []string
		l.sampleOnce(ctx, func(s chaos.DNSSample) {
			if s.Site != a.Active {
				bad = append(bad, fmt.Sprintf("%s answers %q (%s)", s.Server, s.Site, s.Err))
			}
		})
		if len(bad) > 0 {
			return false, fmt.Sprintf("DNS not at %s: %v", a.Active, bad)
		}
		return true, ""
	}
	return false, "application not in the status"
}

// lost reads the client's seqs back through whichever load balancer answers.
func (l *lab) lost(ctx context.Context, r *load.Result) ([]int64, error) {
	hc := load.NewHTTPClient(5*time.Second, false, nil)
	var last error
	for range 10 {
		for _, s := range l.cfg.Indexed() {
			if !s.Workload() {
				continue
			}
			rb, err := load.ReadBack(ctx, hc, "http://"+s.Ingress(), r.Client)
			if err == nil {
				return load.Lost(r.AckedSeqs(), rb.Ranges), nil
			}
			last = err
		}
		sleepUntil(ctx, time.Now().Add(2*time.Second))
	}
	return nil, last
}

// runs are the ledger's records since start, and the open run if any.
func (l *lab) runs(ctx context.Context, since time.Time) ([]runbook.Record, error) {
	hist, err := api.First(ctx, l.clients, 5*time.Second, 20*time.Second, func(ctx context.Context, c *api.Client) ([]runbook.Record, error) {
		return c.History(ctx, l.app)
	})
	if err != nil {
		return nil, fmt.Errorf("the ledger: %w", err)
	}
	var out []runbook.Record
	for _, r := range hist {
		if !r.Decided.Before(since) {
			out = append(out, r)
		}
	}
	st, err := l.status(ctx)
	if err == nil {
		for _, a := range st.Apps {
			if a.Name == l.app && a.Run != nil {
				rec, err := api.First(ctx, l.clients, 5*time.Second, 10*time.Second, func(ctx context.Context, c *api.Client) (*runbook.Record, error) {
					return c.Run(ctx, l.app, a.Run.ID)
				})
				if err == nil {
					out = append(out, *rec)
				}
			}
		}
	}
	return out, nil
}
