package probe

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

// Target is one site of one application as one observer probes it.
type Target struct {
	App, Site string
	// Addrs are the site's load-balancer addresses as seen from the observer's region.
	Addrs    []string
	Settings Settings
	Checker  Checker
}

// AppSites returns the sites an application runs on: the active site first, then the
// stand-bys in the policy's order.
func AppSites(a *v1alpha1.Application) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range append([]string{a.Spec.Policy.ActiveSite}, a.Spec.Policy.StandbySites...) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Targets returns what an observer in region must probe: every site of every
// application that has load balancers, with the addresses that region uses.
func Targets(f *fleet.Fleet, region string, o CheckerOptions) ([]Target, error) {
	var out []Target
	for _, a := range f.Applications {
		s := SettingsOf(a.Spec.Health)
		opts := o
		if opts.Host == "" && a.Spec.DNS != nil {
			opts.Host = strings.TrimSuffix(a.Spec.DNS.Name, ".")
		}
		ch, err := NewChecker(s, opts)
		if err != nil {
			return nil, fmt.Errorf("application %s: %w", a.Name, err)
		}
		for _, name := range AppSites(a) {
			site := f.Site(name)
			if site == nil {
				return nil, fmt.Errorf("application %s: site %q: %w", a.Name, name, ErrUnknownSite)
			}
			t := Target{App: a.Name, Site: name, Settings: s, Checker: ch}
			for _, lb := range site.Spec.LoadBalancers {
				t.Addrs = append(t.Addrs, lb.From(region))
			}
			if len(t.Addrs) > 0 {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// Runner probes targets on their intervals, as one observer.
type Runner struct {
	Observer string
	Targets  []Target
	// Record receives every observation; it must not block for long.
	Record func(Observation)
	Log    *slog.Logger
	// Jitter returns a number in [0,1); it spreads probes so that observers and
	// targets do not fire in lockstep. Nil uses math/rand.
	Jitter func() float64
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Run probes until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range r.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, t)
		}()
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, t Target) {
	jitter := r.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	// The first probe waits a random part of one interval; later ones vary by ±10%.
	timer := time.NewTimer(time.Duration(jitter() * float64(t.Settings.Interval) / 10))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		// The cadence counts from the start of a probe, so a probe that runs into its
		// timeout does not stretch the interval and slow the detection down.
		start := time.Now()
		r.Record(r.probe(ctx, t))
		d := t.Settings.Interval + time.Duration((jitter()*0.2-0.1)*float64(t.Settings.Interval)) - time.Since(start)
		timer.Reset(max(d, 0))
	}
}

// probe checks every address of t once; the site passes when any of them passes,
// since clients are given all of them.
func (r *Runner) probe(ctx context.Context, t Target) Observation {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	start := now()
	ctx, cancel := context.WithTimeout(ctx, t.Settings.Timeout)
	defer cancel()
	ob := Observation{App: t.App, Observer: r.Observer, Site: t.Site}
	var errs []string
	for _, a := range t.Addrs {
		res := t.Checker.Check(ctx, a)
		if res.TLS != nil && ob.TLS == nil {
			ob.TLS = res.TLS
		}
		if res.Reached || res.OK {
			ob.Reached = true
		}
		if res.OK {
			ob.OK = true
			continue
		}
		errs = append(errs, a+": "+res.Err)
	}
	ob.At = now()
	ob.Latency = ob.At.Sub(start)
	if !ob.OK {
		ob.Err = strings.Join(errs, "; ")
		if r.Log != nil {
			r.Log.Debug("probe failed", "app", t.App, "site", t.Site, "err", ob.Err)
		}
	}
	return ob
}
