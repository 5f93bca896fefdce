package daemon

import (
	"context"
	"maps"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/probe"
)

// resyncEvery rewrites verdicts that differ from what etcd holds even when no verdict
// changed locally (a write lost while etcd was unreachable, another leader's leftovers).
const resyncEvery = 2 * time.Second

// lead campaigns for leadership and, while leading, publishes the quorum's verdicts
// under the fencing token. It returns when ctx ends.
func (d *Daemon) lead(ctx context.Context) {
	for ctx.Err() == nil {
		d.deferToBetterPlaced(ctx)
		tok, err := d.campaign(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Debug("campaign failed", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		lctx, endLead := context.WithCancel(ctx)
		d.setLeader(tok, lctx)
		d.log.Info("leading", "token", tok.Rev)
		go d.holdRaftLead(lctx)
		d.resumeRuns(lctx, tok)
		served := &servedSites{d: d, tok: tok, at: map[string]string{}}
		go d.autoFailover(lctx, tok, served)
		go d.replicateWhileLeading(lctx)
		go d.completeRPOs(lctx, tok)
		go d.standbyPending(lctx, tok)
		d.monitorWhileLeading(lctx, tok)
		go d.handOver(lctx, endLead)
		d.publishWhileLeading(lctx, tok, served)
		endLead()
		d.setLeader(coord.Token{}, nil)
		d.resign()
		d.log.Info("no longer leading", "token", tok.Rev)
	}
}

// campaign waits in the election until this daemon leads, and withdraws (an error)
// when a better-placed daemon becomes alive meanwhile: a daemon queued in the election
// since before the placement changed would otherwise win the next hand-over, lead for
// a few seconds and hand over again.
func (d *Daemon) campaign(ctx context.Context) (coord.Token, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for cctx.Err() == nil {
			sleep(cctx, time.Second)
			if d.betterPlacedAlive(time.Now()) {
				cancel()
				return
			}
		}
	}()
	return d.elector.CampaignUntil(ctx, cctx)
}

// publishWhileLeading writes verdicts when they change until leadership ends: the
// lease is lost, or a write is refused because the token went stale.
func (d *Daemon) publishWhileLeading(ctx context.Context, tok coord.Token, served *servedSites) {
	written := map[string]map[string]probe.Verdict{}
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	for {
		for _, a := range d.opts.Fleet.Applications {
			v := d.tracker.Verdicts(a.Name)
			d.recordServed(ctx, served, a.Name, a.Spec.Policy.ActiveSite, v)
			if maps.Equal(v, written[a.Name]) {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := coordstate.PublishHealth(wctx, d.client, tok, a.Name, v)
			cancel()
			switch {
			case coord.IsFenced(err):
				d.log.Warn("deposed: verdicts refused", "token", tok.Rev)
				return
			case err != nil:
				d.log.Debug("verdicts not written", "app", a.Name, "err", err)
			default:
				written[a.Name] = v
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.elector.Done():
			return
		case <-d.changed:
		case <-tick.C:
			// Compare against etcd's copy, which heals a write lost in a partition
			// without rewriting (and re-versioning) unchanged verdicts.
			for _, a := range d.opts.Fleet.Applications {
				written[a.Name] = d.storedHealth(ctx, a.Name)
			}
		}
	}
}

// storedHealth reads the verdicts etcd holds for app; nil when unknown.
func (d *Daemon) storedHealth(ctx context.Context, app string) map[string]probe.Verdict {
	st, err := d.store.Current(ctx)
	if err != nil {
		return nil
	}
	return st.Apps[app].Health
}

func (d *Daemon) setLeader(t coord.Token, lctx context.Context) {
	d.mu.Lock()
	d.leader, d.leadCtx = t, lctx
	d.mu.Unlock()
}

func (d *Daemon) resign() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := d.elector.Resign(ctx); err != nil {
		d.log.Debug("resign", "err", err)
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
func (d *Daemon) recordServed(ctx context.Context, served *servedSites, app, policyActive string, v map[string]probe.Verdict) {
	st, err := d.store.Current(ctx)
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
