package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
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

// autoFailover is the leader loop that starts a failover, decided by
// runbook.AutoDecide, for every application whose policy allows it. It owns why each
// held decision is held, for status.
type autoFailover struct {
	fleet  *fleet.Fleet
	site   string // this daemon's
	client *clientv3.Client
	store  *coordstate.Store
	obs    *observed
	data   *dataView
	runs   *runbooks
	log    *slog.Logger

	mu     sync.Mutex
	held   map[string]string // app → why the leader holds its automatic failover
	notNow map[string]string // app → why none starts while its active site is down
}

// lead decides while this daemon leads. downSince is local to the leadership: a new
// leader counts the threshold again from when it first sees the site down, which only
// delays a decision.
func (au *autoFailover) lead(ctx context.Context, lt *term) {
	tok, served := lt.tok, lt.served
	downSince := map[string]time.Time{}
	runs := map[string]runsRead{}
	said := map[string]string{}
	t := time.NewTicker(autoEvery)
	defer t.Stop()
	defer func() {
		for _, a := range au.fleet.Applications {
			au.setAutoHeld(a.Name, "") // status shows holds only while leading
			au.setNotNow(a.Name, "")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, _ := au.store.Current(ctx)
		// A region lost takes every application there down at once: their runs are
		// read, and their failovers launched, side by side rather than one etcd round
		// trip after another (issue 20: ten applications were decided 0.6 s apart).
		// Freshness is judged against the tick's start: judged against each
		// application's own moment, the reads readRuns had just made went stale while
		// the loop re-read the runs of the ones before, one after another — at 100
		// applications a tick took 33 s and decided them in three bursts.
		tick := time.Now()
		au.readRuns(ctx, st, runs)
		var launches []launch
		for _, a := range au.fleet.Applications {
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
				Reached: au.obs.reachedByQuorum(a.Name, 2*ps.Interval+ps.Timeout, now),
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
				if r := runs[a.Name]; tick.Sub(r.at) > runsFresh {
					rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					r.last, r.open = au.lastAuto(rctx, a.Name)
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
				held = au.holdAuto(a, now)
			}
			au.setAutoHeld(a.Name, held)
			notNow := ""
			if to == "" && in.Verdicts[active] == "down" {
				notNow = reason
			}
			au.setNotNow(a.Name, notNow)
			if held != "" {
				if held != said[a.Name] {
					au.log.Warn("automatic failover held: this leader cannot act on the application's mirror set",
						"app", a.Name, "from", active, "to", to, "reason", held)
				}
				said[a.Name] = held
				continue
			}
			if to == "" {
				if reason != said[a.Name] && in.Verdicts[active] == "down" {
					au.log.Info("no automatic failover", "app", a.Name, "reason", reason)
				}
				said[a.Name] = reason
				continue
			}
			first := au.obs.firstFailure(a.Name, active)
			if first.IsZero() || first.After(downSince[a.Name]) {
				first = downSince[a.Name]
			}
			launches = append(launches, launch{app: a.Name, from: active, to: to, first: first, now: now})
		}
		for _, l := range au.launch(ctx, tok, launches) {
			if coord.IsFenced(l.err) {
				return
			}
			if l.err != nil {
				if !errors.Is(l.err, runbook.ErrRunOpen) {
					au.log.Warn("automatic failover not started", "app", l.app, "err", l.err)
				}
				continue
			}
			au.log.Warn("automatic failover", "app", l.app, "from", l.from, "to", l.to, "down", l.now.Sub(l.first).Round(time.Millisecond))
			delete(downSince, l.app)
			delete(runs, l.app)
			go au.runs.execute(ctx, tok, l.rec)
		}
	}
}

// launchParallel bounds how many failovers are recorded in etcd at once: enough that
// a hundred applications lost together are launched in a few round trips, few enough
// not to flood an etcd that has just lost a member.
const launchParallel = 16

// launch is one automatic failover decided in a tick, and how recording it went.
type launch struct {
	app, from, to string
	first, now    time.Time
	rec           *runbook.Record
	err           error
}

// launch records the tick's decided failovers in etcd side by side and returns them
// with their records or errors, in the order given.
func (au *autoFailover) launch(ctx context.Context, tok coord.Token, ls []launch) []launch {
	var g errgroup.Group
	g.SetLimit(launchParallel)
	for i := range ls {
		l := &ls[i]
		g.Go(func() error {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			first := l.first
			l.rec, l.err = runbook.Launch(lctx, au.client, tok, runbook.Failover, l.app, l.from, l.to, "auto", false, l.now,
				func(r *runbook.Record) { r.FirstFailedProbe = &first })
			return nil
		})
	}
	_ = g.Wait() // each launch keeps its own error
	return ls
}

// readRuns reads, side by side, the runs of every application whose active site the
// quorum finds down and whose read in runs is older than runsFresh; the decision loop
// then finds them fresh.
func (au *autoFailover) readRuns(ctx context.Context, st gslb.State, runs map[string]runsRead) {
	now := time.Now()
	var stale []string
	for _, a := range au.fleet.Applications {
		if af := a.Spec.Policy.AutomaticFailover; af == nil || !af.Enabled {
			continue
		}
		active := st.Apps[a.Name].Active
		if active == "" {
			active = a.Spec.Policy.ActiveSite
		}
		if st.Apps[a.Name].Health[active] == probe.Down && now.Sub(runs[a.Name].at) > runsFresh {
			stale = append(stale, a.Name)
		}
	}
	if len(stale) < 2 {
		return // one application: the loop reads it as before
	}
	read := make([]runsRead, len(stale))
	var g errgroup.Group
	g.SetLimit(launchParallel)
	for i, app := range stale {
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			r := runsRead{}
			r.last, r.open = au.lastAuto(rctx, app)
			r.at = time.Now()
			read[i] = r
			return nil
		})
	}
	_ = g.Wait()
	for i, app := range stale {
		runs[app] = read[i]
	}
}

// lastAuto is the decision time of app's last automatic run, and whether a run is open.
func (au *autoFailover) lastAuto(ctx context.Context, app string) (time.Time, bool) {
	open, err := runbook.Open(ctx, au.client, app)
	if err != nil || open != nil {
		// Unknown counts as open: no decision on a state that cannot be read.
		return time.Time{}, true
	}
	hist, err := runbook.History(ctx, au.client, app)
	if err != nil {
		return time.Time{}, true
	}
	return runbook.LastAuto(hist), false
}

// servedSites remembers, in etcd, the last site each application was found up at, so
// that a new leader knows it too. One per leadership: the verdict publisher records,
// the automatic failover reads.
type servedSites struct {
	client *clientv3.Client
	tok    coord.Token
	mu     sync.Mutex
	at     map[string]string // app → site, once read
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
	resp, err := s.client.Get(gctx, coord.ServedKey(app))
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
	if err := coord.Guarded(wctx, s.client, s.tok, clientv3.OpPut(coord.ServedKey(app), site)); err == nil {
		s.at[app] = site
	}
}

// holdAuto is why the leader does not launch the automatic failover of app that the
// decision asks for ("" when nothing holds it): this daemon cannot act on app's mirror
// set, so it waits for the leadership to go to a daemon that can.
func (au *autoFailover) holdAuto(a *v1alpha1.Application, now time.Time) string {
	nd := au.data.noDriverFor(a)
	if nd == nil {
		return ""
	}
	next := "no daemon that can act on it is alive: waiting for one"
	if au.capableAlive(now) {
		next = "handing the leadership to a daemon that can act on it"
	}
	return fmt.Sprintf("%v; %s", nd, next)
}

// capableAlive says whether another daemon that can act on every mirror set published
// a probe result within aliveWithin: one the leadership can be handed to.
func (au *autoFailover) capableAlive(now time.Time) bool {
	for _, site := range au.obs.alive(now) {
		if site != au.site && au.data.capable(site) {
			return true
		}
	}
	return false
}

// setAutoHeld records (or clears, with "") why app's automatic failover is held, for
// status.
func (au *autoFailover) setAutoHeld(app, why string) {
	au.mu.Lock()
	defer au.mu.Unlock()
	if au.held == nil {
		au.held = map[string]string{}
	}
	if why == "" {
		delete(au.held, app)
	} else {
		au.held[app] = why
	}
}

// setNotNow records (or clears, with "") why no automatic failover of app starts
// while its active site is down, for status.
func (au *autoFailover) setNotNow(app, why string) {
	au.mu.Lock()
	defer au.mu.Unlock()
	if au.notNow == nil {
		au.notNow = map[string]string{}
	}
	if why == "" {
		delete(au.notNow, app)
	} else {
		au.notNow[app] = why
	}
}

// notNowFor is why no automatic failover of app starts while its active site is down;
// "" when the site is not down, one starts, or this daemon does not lead.
func (au *autoFailover) notNowFor(app string) string {
	au.mu.Lock()
	defer au.mu.Unlock()
	return au.notNow[app]
}

// heldFor is why app's automatic failover is held now; "" when it is not.
func (au *autoFailover) heldFor(app string) string {
	au.mu.Lock()
	defer au.mu.Unlock()
	return au.held[app]
}
