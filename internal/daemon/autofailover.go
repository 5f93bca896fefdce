package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// autoEvery is how often the leader reconsiders automatic failovers: the verdicts it
// reads are in memory (the store follows etcd), so a short tick only shortens the time
// from the threshold's end to the decision.
const autoEvery = 100 * time.Millisecond

// runsFresh is how long the leader trusts what it read of an application's runs (the
// last automatic one, whether one is open) while the active site is down: read when
// the site goes down, not at the moment of the decision. Launch refuses a second open
// run on its own.
const runsFresh = time.Second

type runsRead struct {
	at   time.Time
	last time.Time
	open bool
}

// autoFailover starts a failover, decided by runbook.AutoDecide, for every application
// whose policy allows it, while this daemon leads. downSince is local to the
// leadership: a new leader counts the threshold again from when it first sees the
// site down, which only delays a decision.
func (d *Daemon) autoFailover(ctx context.Context, tok coord.Token, served *servedSites) {
	downSince := map[string]time.Time{}
	runs := map[string]runsRead{}
	said := map[string]string{}
	t := time.NewTicker(autoEvery)
	defer t.Stop()
	defer func() {
		for _, a := range d.opts.Fleet.Applications {
			d.setAutoHeld(a.Name, "") // status shows holds only while leading
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, _ := d.store.Current(ctx)
		for _, a := range d.opts.Fleet.Applications {
			af := a.Spec.Policy.AutomaticFailover
			if af == nil || !af.Enabled {
				continue
			}
			state := st.Apps[a.Name]
			active := state.Active
			if active == "" {
				active = a.Spec.Policy.ActiveSite
			}
			now := time.Now()
			if state.Health[active] == probe.Down {
				if downSince[a.Name].IsZero() {
					downSince[a.Name] = now
				}
			} else {
				delete(downSince, a.Name)
			}
			ps := probe.SettingsOf(a.Spec.Health)
			in := runbook.AutoInput{Enabled: true, Active: active, Sites: probe.AppSites(a),
				Verdicts: map[string]string{}, DownSince: downSince[a.Name], Now: now,
				Reached: d.reachedByQuorum(a.Name, 2*ps.Interval+ps.Timeout, now),
				Warm:    a.Spec.Policy.Standby == v1alpha1.StandbyWarm,
				Served:  served.get(ctx, a.Name) == active}
			for s, v := range state.Health {
				in.Verdicts[s] = string(v)
			}
			if af.Threshold != nil {
				in.Threshold = af.Threshold.Duration
			}
			if af.MinInterval != nil {
				in.MinInterval = af.MinInterval.Duration
			}
			if in.Verdicts[active] == "down" {
				// Only read etcd when a decision is near.
				if r := runs[a.Name]; now.Sub(r.at) > runsFresh {
					rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					r.last, r.open = d.lastAuto(rctx, a.Name)
					cancel()
					r.at = time.Now()
					runs[a.Name] = r
				}
				in.LastAuto, in.Open = runs[a.Name].last, runs[a.Name].open
			} else {
				delete(runs, a.Name)
			}
			to, reason := runbook.AutoDecide(in)
			held := ""
			if to != "" {
				// A leader without the application's data driver would fence and
				// promote nothing: it waits for the leadership to move (placement.go).
				held = d.holdAuto(a, now)
			}
			d.setAutoHeld(a.Name, held)
			if held != "" {
				if held != said[a.Name] {
					d.log.Warn("automatic failover held: this leader cannot act on the application's mirror set",
						"app", a.Name, "from", active, "to", to, "reason", held)
				}
				said[a.Name] = held
				continue
			}
			if to == "" {
				if reason != said[a.Name] && in.Verdicts[active] == "down" {
					d.log.Info("no automatic failover", "app", a.Name, "reason", reason)
				}
				said[a.Name] = reason
				continue
			}
			first := d.firstFailure(a.Name, active)
			if first.IsZero() || first.After(downSince[a.Name]) {
				first = downSince[a.Name]
			}
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			rec, err := runbook.Launch(lctx, d.client, tok, runbook.Failover, a.Name, active, to, "auto", false, now,
				func(r *runbook.Record) { r.FirstFailedProbe = &first })
			cancel()
			if err != nil {
				if coord.IsFenced(err) {
					return
				}
				if !errors.Is(err, runbook.ErrRunOpen) {
					d.log.Warn("automatic failover not started", "app", a.Name, "err", err)
				}
				continue
			}
			d.log.Warn("automatic failover", "app", a.Name, "from", active, "to", to, "down", now.Sub(first).Round(time.Millisecond))
			delete(downSince, a.Name)
			delete(runs, a.Name)
			go d.execute(ctx, tok, rec)
		}
	}
}

// lastAuto is the decision time of app's last automatic run, and whether a run is open.
func (d *Daemon) lastAuto(ctx context.Context, app string) (time.Time, bool) {
	open, err := runbook.Open(ctx, d.client, app)
	if err != nil || open != nil {
		// Unknown counts as open: no decision on a state that cannot be read.
		return time.Time{}, true
	}
	hist, err := runbook.History(ctx, d.client, app)
	if err != nil {
		return time.Time{}, true
	}
	return runbook.LastAuto(hist), false
}

// checkSite is the application's own probe of site through its load balancers, as
// seen from this daemon's region: verification that the target serves.
func (d *Daemon) checkSite(app string) func(ctx context.Context, site string) (string, error) {
	return func(ctx context.Context, site string) (string, error) {
		var errs []string
		for _, t := range d.runner.Targets {
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

// reachedByQuorum are app's sites that a majority of observers reached lately (an
// HTTP answer, even a failing one): the sites a failover may go to although their
// application is not serving yet.
func (d *Daemon) reachedByQuorum(app string, fresh time.Duration, now time.Time) map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	count := map[string]int{}
	for _, sites := range d.latest[app] {
		for s, ob := range sites {
			if ob.Reached && now.Sub(ob.At) <= fresh {
				count[s]++
			}
		}
	}
	out := map[string]bool{}
	for s, n := range count {
		if n > len(d.observer)/2 {
			out[s] = true
		}
	}
	return out
}

// servedSites remembers, in etcd, the last site each application was found up at, so
// that a new leader knows it too. One per leadership: the verdict publisher records,
// the automatic failover reads.
type servedSites struct {
	d   *Daemon
	tok coord.Token
	mu  sync.Mutex
	at  map[string]string // app → site, once read
}

func (s *servedSites) get(ctx context.Context, app string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getLocked(ctx, app)
}

func (s *servedSites) getLocked(ctx context.Context, app string) string {
	if site, ok := s.at[app]; ok {
		return site
	}
	gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := s.d.client.Get(gctx, coord.ServedKey(app))
	if err != nil {
		return "" // read again next time
	}
	s.at[app] = ""
	if len(resp.Kvs) > 0 {
		s.at[app] = string(resp.Kvs[0].Value)
	}
	return s.at[app]
}

func (s *servedSites) record(ctx context.Context, app, site string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getLocked(ctx, app) == site {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := coord.Guarded(wctx, s.d.client, s.tok, clientv3.OpPut(coord.ServedKey(app), site)); err == nil {
		s.at[app] = site
	}
}
