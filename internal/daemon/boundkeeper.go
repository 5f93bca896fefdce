package daemon

import (
	"context"
	"sync"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/postgres"
)

// boundKeeper is the driver capability behind mode bounded (postgres.Driver.KeepBound).
type boundKeeper interface {
	KeepBound(ctx context.Context, member string, opts postgres.KeeperOptions) error
}

// keeperRetry is how soon a bound keeper that ended, or found no primary at this
// site, tries again: commits of a bounded set wait while no keeper streams.
const keeperRetry = 200 * time.Millisecond

// keepBounds runs, until ctx ends, the bound keeper of every mirror set in mode bounded
// on whichever of its members at this site is the primary. Commits of a bounded set
// wait while no keeper streams from its primary, so the keeper runs where the primary
// is — next to it, in its region, not at the leader (which prefers a stand-by site) —
// and a member promoted at another site gets its keeper from that site's daemon. It
// runs whether or not this daemon reaches the majority: a site cut off from it keeps
// its bound until it is fenced.
func (v *dataView) keepBounds(ctx context.Context) {
	var wg sync.WaitGroup
	for _, set := range v.fleet.MirrorSets {
		if !v.localSets[set.Name] || v.fleet.DataLoss(set.Name).EffectiveMode() != v1alpha1.DataLossBounded {
			continue
		}
		kb, ok := v.drivers[set.Name].(boundKeeper)
		if !ok {
			continue
		}
		var local []string
		for _, m := range set.Spec.Members {
			if m.Site == v.site {
				local = append(local, m.Name)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.keepBound(ctx, set.Name, kb, local)
		}()
	}
	wg.Wait()
}

// keepBound tries the local members in turn: the keeper refuses a standby at once, and
// on the primary it runs until the stream breaks.
func (v *dataView) keepBound(ctx context.Context, set string, kb boundKeeper, members []string) {
	log := v.log.With("component", "bound-keeper", "set", set)
	for ctx.Err() == nil {
		for _, m := range members {
			start := time.Now()
			err := kb.KeepBound(ctx, m, postgres.KeeperOptions{})
			if ctx.Err() != nil {
				return
			}
			if time.Since(start) > time.Second {
				log.Warn("bound keeper stopped; starting it again", "member", m, "ran", time.Since(start).Round(time.Millisecond), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(keeperRetry):
		}
	}
}
