package daemon

import (
	"context"
	"log/slog"
	"maps"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/probe"
)

// resyncEvery rewrites verdicts that differ from what etcd holds even when no verdict
// changed locally (a write lost while etcd was unreachable, another leader's leftovers).
const resyncEvery = 2 * time.Second

// term is one leadership term: the fencing token every write of the leader loops
// carries, and the sites each application was last found serving at (the verdict
// publisher records them, the automatic failover reads them).
type term struct {
	tok    coord.Token
	served *servedSites
}

// A leaderLoop runs while this daemon leads, started with each term; it returns when
// ctx (the leadership) ends or its writes are refused as fenced. Adding one is a type
// with this method and a line in daemon.go's wiring.
type leaderLoop interface {
	lead(ctx context.Context, t *term)
}

// leader campaigns for leadership and, while leading, publishes the quorum's verdicts
// under the fencing token, continues the open runs and runs the leader loops.
type leader struct {
	fleet   *fleet.Fleet
	client  *clientv3.Client
	store   *coordstate.Store
	obs     *observed
	elector *coord.Elector
	place   *placer
	runs    *runbooks
	loops   []leaderLoop
	log     *slog.Logger
}

// run leads whenever it can until ctx ends.
func (l *leader) run(ctx context.Context) {
	for ctx.Err() == nil {
		l.place.deferToBetterPlaced(ctx)
		tok, err := l.campaign(ctx)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Debug("campaign failed", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		lctx, endLead := context.WithCancel(ctx)
		l.log.Info("leading", "token", tok.Rev)
		t := &term{tok: tok, served: &servedSites{client: l.client, tok: tok, at: map[string]string{}}}
		// The loops start first: raftLead moves etcd's raft leadership here before the
		// resumed runs save their steps (a move while a save is in flight stalls it).
		for _, loop := range l.loops {
			go loop.lead(lctx, t)
		}
		l.runs.lead(lctx, tok)
		go l.handOver(lctx, endLead)
		l.publishWhileLeading(lctx, t)
		endLead()
		l.resign()
		l.log.Info("no longer leading", "token", tok.Rev)
	}
}

// campaign waits in the election until this daemon leads, and withdraws (an error)
// when a better-placed daemon becomes alive meanwhile: a daemon queued in the election
// since before the placement changed would otherwise win the next hand-over, lead for
// a few seconds and hand over again.
func (l *leader) campaign(ctx context.Context) (coord.Token, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for cctx.Err() == nil {
			sleep(cctx, time.Second)
			if l.place.betterPlacedAlive(time.Now()) {
				cancel()
				return
			}
		}
	}()
	return l.elector.CampaignUntil(ctx, cctx)
}

// publishWhileLeading writes verdicts when they change until leadership ends: the
// lease is lost, or a write is refused because the token went stale.
func (l *leader) publishWhileLeading(ctx context.Context, t *term) {
	tok, served := t.tok, t.served
	written := map[string]map[string]probe.Verdict{}
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	for {
		changed := map[string]map[string]probe.Verdict{}
		for _, a := range l.fleet.Applications {
			v := l.obs.verdicts(a.Name)
			l.recordServed(ctx, served, a.Name, a.Spec.Policy.ActiveSite, v)
			if !maps.Equal(v, written[a.Name]) {
				changed[a.Name] = v
			}
		}
		if len(changed) > 0 {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			done, err := coordstate.PublishHealthOf(wctx, l.client, tok, changed)
			cancel()
			for _, app := range done {
				written[app] = changed[app]
			}
			switch {
			case coord.IsFenced(err):
				l.log.Warn("deposed: verdicts refused", "token", tok.Rev)
				return
			case err != nil:
				l.log.Debug("verdicts not written", "apps", len(changed)-len(done), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.elector.Done():
			return
		case <-l.obs.changed:
		case <-tick.C:
			// Compare against etcd's copy, which heals a write lost in a partition
			// without rewriting (and re-versioning) unchanged verdicts.
			for _, a := range l.fleet.Applications {
				written[a.Name] = l.storedHealth(ctx, a.Name)
			}
		}
	}
}

// storedHealth reads the verdicts etcd holds for app; nil when unknown.
func (l *leader) storedHealth(ctx context.Context, app string) map[string]probe.Verdict {
	st, err := l.store.Current(ctx)
	if err != nil {
		return nil
	}
	return st.Apps[app].Health
}

func (l *leader) resign() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.elector.Resign(ctx); err != nil {
		l.log.Debug("resign", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// recordServed notes in etcd that app is up by quorum at its active site, as the
// verdicts are published: an automatic failover needs the application to have served
// there, and a leader elected a moment later must know it.
func (l *leader) recordServed(ctx context.Context, served *servedSites, app, policyActive string, v map[string]probe.Verdict) {
	st, err := l.store.Current(ctx)
	if err != nil {
		return
	}
	active := st.Apps[app].Active
	if active == "" {
		active = policyActive
	}
	if v[active] == probe.Up {
		served.record(ctx, app, active)
	}
}
