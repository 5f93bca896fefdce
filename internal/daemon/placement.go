package daemon

import (
	"context"
	"log/slog"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/member"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
)

// Where the leader runs matters. It acts on the mirror sets and clusters of other sites
// across the links, one round trip per statement: at a witness every action crosses a
// region (a promotion from the witness took 2.7 s in the lab, 0.27 s from the stand-by's
// own region). And a leader at an application's active site dies with that region, so
// the failover first waits for its lease. So the daemons prefer, in order: a workload
// site that is active for no application (a stand-by), a workload site, the witness. A
// daemon campaigns only while no better-placed daemon is alive, and a leader hands over
// to one (resigns) while no run executes. A daemon counts as alive while its probe
// results keep arriving through etcd, which needs the majority too.
//
// Above all of that, a daemon that can act on every mirror set places before one that
// cannot (datareach.go): a leader without a set's driver fences and promotes nothing,
// so it holds its automatic failovers and hands the leadership over.

// aliveWithin is how fresh a daemon's latest observation must be to count as alive.
const aliveWithin = 3 * time.Second

// placeCapable is added to the placement of a daemon that can act on every mirror
// set: more than any site's role gives.
const placeCapable = 3

// placer ranks the daemons as places to lead from.
type placer struct {
	fleet *fleet.Fleet
	site  string // this daemon's
	store *coordstate.Store
	obs   *observed
	data  *dataView
}

// placement ranks site as a place to lead from: higher is better.
func (p *placer) placement(site string) int {
	rank := p.rolePlacement(site)
	if p.data.capable(site) {
		rank += placeCapable
	}
	return rank
}

// rolePlacement ranks site by its role alone: 2 for a workload site active for no
// application, 1 for an active one, 0 for a witness.
func (p *placer) rolePlacement(site string) int {
	s := p.fleet.Site(site)
	if s == nil || s.Spec.Role == v1alpha1.SiteRoleWitness {
		return 0
	}
	st, _ := p.store.Current(context.Background())
	for _, a := range p.fleet.Applications {
		active := st.Apps[a.Name].Active
		if active == "" {
			active = a.Spec.Policy.ActiveSite
		}
		if active == site {
			return 1
		}
	}
	return 2
}

// betterPlacedAlive says whether a daemon placed better than this one published a
// probe result within aliveWithin.
func (p *placer) betterPlacedAlive(now time.Time) bool {
	mine := p.placement(p.site)
	for _, observer := range p.obs.alive(now) {
		if observer != p.site && p.placement(observer) > mine {
			return true
		}
	}
	return false
}

// deferToBetterPlaced waits while a better-placed daemon is alive.
func (p *placer) deferToBetterPlaced(ctx context.Context) {
	for ctx.Err() == nil && p.betterPlacedAlive(time.Now()) {
		sleep(ctx, time.Second)
	}
}

// handOver ends this daemon's leadership (cancel) once a better-placed daemon has been
// alive for a few seconds and no run executes here.
func (l *leader) handOver(ctx context.Context, cancel context.CancelFunc) {
	var since time.Time
	for ctx.Err() == nil {
		sleep(ctx, time.Second)
		now := time.Now()
		if !l.place.betterPlacedAlive(now) || l.runs.anyRunning() {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) >= 2*aliveWithin {
			l.log.Info("handing leadership to a better-placed daemon")
			cancel()
			return
		}
	}
}

// raftLeadEvery is how often the leader checks that its own etcd member leads raft.
const raftLeadEvery = 2 * time.Second

// raftLead is the leader loop that keeps the etcd raft leadership at the leader daemon's own member while
// it leads: its guarded writes (a runbook saves each step) then commit in one round to
// the nearest majority instead of being forwarded to a raft leader in another region
// first. An external etcd cluster is left as it is.
type raftLead struct {
	member *member.Embedded // nil with an external etcd cluster
	log    *slog.Logger
}

func (r *raftLead) lead(ctx context.Context, _ *term) {
	if r.member == nil {
		return
	}
	for ctx.Err() == nil {
		mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		moved, err := r.member.LeadRaft(mctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Debug("raft leadership stays elsewhere", "err", err)
		case moved:
			r.log.Info("etcd raft leadership moved to this daemon's member")
		}
		sleep(ctx, raftLeadEvery)
	}
}
