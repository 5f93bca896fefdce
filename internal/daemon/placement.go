package daemon

import (
	"context"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
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

// placement ranks site as a place to lead from: higher is better.
func (d *Daemon) placement(site string) int {
	p := d.rolePlacement(site)
	if d.capable(site) {
		p += placeCapable
	}
	return p
}

// rolePlacement ranks site by its role alone: 2 for a workload site active for no
// application, 1 for an active one, 0 for a witness.
func (d *Daemon) rolePlacement(site string) int {
	s := d.opts.Fleet.Site(site)
	if s == nil || s.Spec.Role == v1alpha1.SiteRoleWitness {
		return 0
	}
	st, _ := d.store.Current(context.Background())
	for _, a := range d.opts.Fleet.Applications {
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
func (d *Daemon) betterPlacedAlive(now time.Time) bool {
	mine := d.placement(d.opts.Site)
	for _, observer := range d.aliveDaemons(now) {
		if observer != d.opts.Site && d.placement(observer) > mine {
			return true
		}
	}
	return false
}

// aliveDaemons are the daemons that published a probe result within aliveWithin.
func (d *Daemon) aliveDaemons(now time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	fresh := map[string]bool{}
	for _, byObserver := range d.latest {
		for observer, sites := range byObserver {
			for _, ob := range sites {
				if now.Sub(ob.At) <= aliveWithin {
					fresh[observer] = true
				}
			}
		}
	}
	out := make([]string, 0, len(fresh))
	for observer := range fresh {
		out = append(out, observer)
	}
	return out
}

// deferToBetterPlaced waits while a better-placed daemon is alive.
func (d *Daemon) deferToBetterPlaced(ctx context.Context) {
	for ctx.Err() == nil && d.betterPlacedAlive(time.Now()) {
		sleep(ctx, time.Second)
	}
}

// handOver ends this daemon's leadership (cancel) once a better-placed daemon has been
// alive for a few seconds and no run executes here.
func (d *Daemon) handOver(ctx context.Context, cancel context.CancelFunc) {
	var since time.Time
	for ctx.Err() == nil {
		sleep(ctx, time.Second)
		now := time.Now()
		if !d.betterPlacedAlive(now) || d.anyRunning() {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) >= 2*aliveWithin {
			d.log.Info("handing leadership to a better-placed daemon")
			cancel()
			return
		}
	}
}

// anyRunning says whether this daemon executes a run now.
func (d *Daemon) anyRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.running) > 0
}

// raftLeadEvery is how often the leader checks that its own etcd member leads raft.
const raftLeadEvery = 2 * time.Second

// holdRaftLead keeps the etcd raft leadership at the leader daemon's own member while
// it leads: its guarded writes (a runbook saves each step) then commit in one round to
// the nearest majority instead of being forwarded to a raft leader in another region
// first. An external etcd cluster is left as it is.
func (d *Daemon) holdRaftLead(ctx context.Context) {
	if d.member == nil {
		return
	}
	for ctx.Err() == nil {
		mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		moved, err := d.member.LeadRaft(mctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Debug("raft leadership stays elsewhere", "err", err)
		case moved:
			d.log.Info("etcd raft leadership moved to this daemon's member")
		}
		sleep(ctx, raftLeadEvery)
	}
}
