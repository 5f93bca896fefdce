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
func (v *dataView) cannotAct() map[string]string {
	out := map[string]string{}
	for set, err := range v.noDriver {
		out[set] = err.Error()
	}
	return out
}

// noDriverFor is the failure of every data step of app here: app has a mirror set and
// this daemon has no driver for it. Nil when app has no mirror set, or a driver.
func (v *dataView) noDriverFor(a *v1alpha1.Application) *runbook.NoDriverError {
	if a == nil || a.Spec.Data == nil {
		return nil
	}
	set := a.Spec.Data.MirrorSet
	if v.drivers[set] != nil {
		return nil
	}
	cause := v.noDriver[set]
	if cause == nil {
		cause = fmt.Errorf("no driver for it")
	}
	return &runbook.NoDriverError{Daemon: v.site, Set: set, Err: cause}
}

// publishDataReach writes this daemon's list to etcd, trying again until it is stored
// (etcd may still be forming when the daemon starts).
func (v *dataView) publishReach(ctx context.Context) {
	r := coordstate.DataReach{CannotAct: v.cannotAct()}
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := coordstate.PublishDataReach(pctx, v.client, v.site, r)
		cancel()
		if err == nil {
			return
		}
		v.log.Debug("data reach not published yet", "err", err)
		sleep(ctx, publishDataReachRetry)
	}
}

// capable says whether site's daemon can act on every mirror set, as far as this
// daemon knows. A daemon that has published nothing counts as capable: a daemon of an
// earlier version publishes nothing, and a freshly started one publishes before its
// first probe results make it count as alive.
func (v *dataView) capable(site string) bool {
	if site == v.site {
		return len(v.noDriver) == 0
	}
	r, ok := v.reaches.Get(site)
	return !ok || len(r.CannotAct) == 0
}

// dataReachAll is every daemon's list of the mirror sets it cannot act on, for status:
// this daemon's from memory, the others' as they published them; daemons that can act
// on every set are left out.
func (v *dataView) reachAll() map[string]map[string]string {
	out := map[string]map[string]string{}
	for site, r := range v.reaches.All() {
		if len(r.CannotAct) > 0 && site != v.site {
			out[site] = maps.Clone(r.CannotAct)
		}
	}
	if mine := v.cannotAct(); len(mine) > 0 {
		out[v.site] = mine
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
