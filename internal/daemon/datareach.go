package daemon

import (
	"context"
	"fmt"
	"maps"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/runbook"
)

// A daemon that cannot build the driver of a mirror set (it cannot read the set's
// password, say) can neither observe, fence nor promote it. Leading, it would run a
// failover that moves DNS and fences and promotes nothing. So it says so everywhere it
// matters: in etcd for the other daemons (coordstate.DataReach), which place it below
// every daemon that can act on every set when the leadership is handed over
// (placement.go); in its runbooks, whose data steps fail with a permanent
// runbook.NoDriverError instead of finding "no mirror set"; in its automatic failovers,
// which it holds while it leads; and in status.

// publishDataReachRetry is how soon a failed publication is tried again.
const publishDataReachRetry = time.Second

// cannotAct is this daemon's list of the mirror sets it cannot act on: set → why.
func (d *Daemon) cannotAct() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for set, err := range d.noDriver {
		out[set] = err.Error()
	}
	return out
}

// noDriverFor is the failure of every data step of app here: app has a mirror set and
// this daemon has no driver for it. Nil when app has no mirror set, or a driver.
func (d *Daemon) noDriverFor(a *v1alpha1.Application) *runbook.NoDriverError {
	if a == nil || a.Spec.Data == nil {
		return nil
	}
	set := a.Spec.Data.MirrorSet
	if d.drivers[set] != nil {
		return nil
	}
	d.mu.Lock()
	cause := d.noDriver[set]
	d.mu.Unlock()
	if cause == nil {
		cause = fmt.Errorf("no driver for it")
	}
	return &runbook.NoDriverError{Daemon: d.opts.Site, Set: set, Err: cause}
}

// publishDataReach writes this daemon's list to etcd, trying again until it is stored
// (etcd may still be forming when the daemon starts).
func (d *Daemon) publishDataReach(ctx context.Context) {
	r := coordstate.DataReach{CannotAct: d.cannotAct()}
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := coordstate.PublishDataReach(pctx, d.client, d.opts.Site, r)
		cancel()
		if err == nil {
			return
		}
		d.log.Debug("data reach not published yet", "err", err)
		sleep(ctx, publishDataReachRetry)
	}
}

// capable says whether site's daemon can act on every mirror set, as far as this
// daemon knows. A daemon that has published nothing counts as capable: a daemon of an
// earlier version publishes nothing, and a freshly started one publishes before its
// first probe results make it count as alive.
func (d *Daemon) capable(site string) bool {
	if site == d.opts.Site {
		return len(d.cannotAct()) == 0
	}
	r, ok := d.reaches.Get(site)
	return !ok || len(r.CannotAct) == 0
}

// dataReachAll is every daemon's list of the mirror sets it cannot act on, for status:
// this daemon's from memory, the others' as they published them; daemons that can act
// on every set are left out.
func (d *Daemon) dataReachAll() map[string]map[string]string {
	out := map[string]map[string]string{}
	for site, r := range d.reaches.All() {
		if len(r.CannotAct) > 0 && site != d.opts.Site {
			out[site] = maps.Clone(r.CannotAct)
		}
	}
	if mine := d.cannotAct(); len(mine) > 0 {
		out[d.opts.Site] = mine
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// capableAlive says whether another daemon that can act on every mirror set published
// a probe result within aliveWithin: one the leadership can be handed to.
func (d *Daemon) capableAlive(now time.Time) bool {
	for _, site := range d.aliveDaemons(now) {
		if site != d.opts.Site && d.capable(site) {
			return true
		}
	}
	return false
}

// holdAuto is why the leader does not launch the automatic failover of app that the
// decision asks for ("" when nothing holds it): this daemon cannot act on app's mirror
// set, so it waits for the leadership to go to a daemon that can.
func (d *Daemon) holdAuto(a *v1alpha1.Application, now time.Time) string {
	nd := d.noDriverFor(a)
	if nd == nil {
		return ""
	}
	next := "no daemon that can act on it is alive: waiting for one"
	if d.capableAlive(now) {
		next = "handing the leadership to a daemon that can act on it"
	}
	return fmt.Sprintf("%v; %s", nd, next)
}

// setAutoHeld records (or clears, with "") why app's automatic failover is held, for
// status.
func (d *Daemon) setAutoHeld(app, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if why == "" {
		delete(d.autoHeld, app)
	} else {
		d.autoHeld[app] = why
	}
}
