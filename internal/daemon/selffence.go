package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

// dataFenceTimeout bounds the self-fencing of the local databases.
const dataFenceTimeout = 15 * time.Second

// LocalPrimaries is the self-fencing decision for data: the members at site that accept
// writes now. Only those are fenced — fencing a standby could stop it — and a fenced
// primary stays fenced when the majority comes back: the leader decides what happens to
// it (rejoin as a member, or unfence by a runbook).
func LocalPrimaries(st *data.SetStatus, site string) []string {
	var out []string
	for _, m := range st.Members {
		if m.Site == site && m.State == data.StatePrimary {
			out = append(out, m.Member)
		}
	}
	sort.Strings(out)
	return out
}

// fenceLoop fences and unfences the local primaries one action at a time, always for
// the newest decision. Run side by side, a short flap's unfence could read the
// self-fence list before the fence still in flight had added to it, and the active
// site stayed read-only after the majority came back.
func (v *dataView) fenceLoop(ctx context.Context) {
	if len(v.drivers) == 0 {
		return
	}
	for {
		fenced, ok := v.fence.next(ctx)
		switch {
		case !ok:
			return
		case fenced:
			v.fenceLocal(ctx)
		default:
			v.unfenceLocal(ctx)
		}
	}
}

// fenceLocalData makes the local primaries read-only: a region cut off from the
// majority must not keep accepting writes that the region promoted elsewhere cannot
// see. It returns the members fenced.
func (v *dataView) fenceLocal(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, dataFenceTimeout)
	defer cancel()
	var fenced []selfFence
	for name, drv := range v.drivers {
		if !v.localSets[name] {
			continue
		}
		st, err := drv.Status(ctx)
		if err != nil {
			v.log.Error("self-fence: data status", "set", name, "err", err)
			continue
		}
		for _, m := range LocalPrimaries(st, v.site) {
			if err := drv.Fence(ctx, m, 0); err != nil { // no leadership: a safety fence
				v.log.Error("self-fence: primary not fenced", "set", name, "member", m, "err", err)
				continue
			}
			v.log.Warn("self-fence: local primary made read-only", "set", name, "member", m)
			fenced = append(fenced, selfFence{set: name, member: m, at: time.Now()})
		}
	}
	v.addSelfFences(fenced...)
	out := make([]string, 0, len(fenced))
	for _, f := range fenced {
		out = append(out, f.String())
	}
	return out
}

// unfenceLocalData undoes a self-fence once the majority is back, for the primaries
// whose applications are all still active at this site with no run open — nothing moved
// them while the site was cut off, so the fence only cost availability — or that a run
// moving here has just promoted (unfenceAllowed). A primary that
// a failover replaced stays fenced (its commits since the fork are the loss the ledger
// counts); the failback's rejoin decides.
func (v *dataView) unfenceLocal(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, dataFenceTimeout)
	defer cancel()
	v.mu.Lock()
	fenced := slices.Clone(v.fenced)
	v.mu.Unlock()
	// Asked again for a while: right after the majority returns the leadership may not
	// be settled ("no leader holds a fencing token yet"), and a run open for a moment
	// may close; one look would leave the active site read-only until the next blip.
	for len(fenced) > 0 && !v.fence.now() {
		var why []string
		fenced, why = v.unfenceOnce(ctx, fenced)
		if len(fenced) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			for i, f := range fenced {
				v.log.Warn("self-fenced primary stays fenced", "set", f.set, "member", f.member, "reason", why[i])
			}
			return
		case <-time.After(time.Second):
		}
	}
}

// unfenceOnce tries to lift each self-fence once and returns those that stay, with why.
func (v *dataView) unfenceOnce(ctx context.Context, fenced []selfFence) (stay []selfFence, why []string) {
	var lifted []selfFence
	defer func() { v.removeSelfFences(lifted) }()
	for _, f := range fenced {
		set, member := f.set, f.member
		tok, err := v.mayUnfence(ctx, set, member)
		if err != nil {
			stay, why = append(stay, f), append(why, err.Error())
			continue
		}
		u, ok := v.drivers[set].(data.Unfencer)
		if !ok {
			continue
		}
		if err := u.Unfence(ctx, member, tok); err != nil {
			stay, why = append(stay, f), append(why, err.Error())
			continue
		}
		v.log.Info("self-fence lifted: the site is still active and the majority is back", "set", set, "member", member)
		lifted = append(lifted, f)
	}
	// Entries that stay are re-derived from each data observation (selffenced.go).
	return stay, why
}

// mayUnfence checks in etcd (linearizable reads: the majority is back) that the
// self-fence of member in set may be lifted for every application using set
// (unfenceAllowed), and returns the current leader's fencing token for the unfence:
// the member refuses it if a newer leader has acted on it since.
func (v *dataView) mayUnfence(ctx context.Context, set, member string) (int64, error) {
	leader, err := coord.Leader(ctx, v.client)
	if err != nil {
		return 0, fmt.Errorf("current leader: %w", err)
	}
	if leader.IsZero() {
		return 0, errors.New("no leader holds a fencing token yet")
	}
	for _, a := range v.fleet.Applications {
		if a.Spec.Data == nil || a.Spec.Data.MirrorSet != set {
			continue
		}
		resp, err := v.client.Get(ctx, coord.ActiveKey(a.Name))
		if err != nil {
			return 0, err
		}
		active := a.Spec.Policy.ActiveSite
		if len(resp.Kvs) > 0 {
			active = string(resp.Kvs[0].Value)
		}
		open, err := runbook.Open(ctx, v.client, a.Name)
		if err != nil {
			return 0, err
		}
		if err := unfenceAllowed(a.Name, active, v.site, member, open); err != nil {
			return 0, err
		}
	}
	return leader.Rev, nil
}

// unfenceAllowed decides whether a primary member at site, fenced by the site's own
// daemon while it was cut off, may accept writes again for app: app is still active at
// site with no run open (nothing moved while the site was cut off), or the open run
// moves app to site and promoted member itself (a blip during the run fenced the
// primary the run had just made; the run needs it writable).
func unfenceAllowed(app, active, site, member string, open *runbook.Record) error {
	if open != nil {
		if open.To == site && open.Promoted == member {
			return nil
		}
		return fmt.Errorf("run %s of %s is open", open.ID, app)
	}
	if active != site {
		return fmt.Errorf("%s is active at %s now", app, active)
	}
	return nil
}
