package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/credentials"
	"hadron.dev/hadron/internal/data/postgres"
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

// dataDrivers builds a driver for every PostgreSQL mirror set: status observes them
// all, self-fencing acts on the members at the local site. A set whose driver cannot
// be built (a password that cannot be read) is left out and recorded in d.noDriver,
// with why: this daemon cannot act on it (datareach.go).
func (d *Daemon) dataDrivers() map[string]data.Driver {
	out := map[string]data.Driver{}
	regions := map[string]string{}
	for _, s := range d.opts.Fleet.Sites {
		regions[s.Name] = s.Spec.Region
	}
	for _, set := range d.opts.Fleet.MirrorSets {
		if set.Spec.Engine != v1alpha1.EnginePostgres {
			d.noDriver[set.Name] = fmt.Errorf("engine %q is not supported", set.Spec.Engine)
			continue
		}
		if set.Spec.Credentials == nil {
			d.noDriver[set.Name] = errors.New("spec.credentials is not set")
			continue
		}
		pw, err := credentials.Password(context.Background(), set.Spec.Credentials.PasswordFrom, d.opts.Fleet)
		if err == nil {
			var drv *postgres.Driver
			drv, err = postgres.New(postgres.Config{Set: set, Regions: regions, Password: pw, Region: d.site.Spec.Region, Logger: d.log})
			if err == nil {
				out[set.Name] = drv
				if hasMemberAt(set, d.opts.Site) {
					d.localSets[set.Name] = true
				}
				continue
			}
		}
		d.log.Error("mirror set cannot be observed or fenced by this daemon", "set", set.Name, "err", err)
		d.noDriver[set.Name] = err
	}
	return out
}

func hasMemberAt(set *v1alpha1.MirrorSet, site string) bool {
	for _, m := range set.Spec.Members {
		if m.Site == site {
			return true
		}
	}
	return false
}

// fenceLocalData makes the local primaries read-only: a region cut off from the
// majority must not keep accepting writes that the region promoted elsewhere cannot
// see. It returns the members fenced.
func (d *Daemon) fenceLocalData(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, dataFenceTimeout)
	defer cancel()
	var fenced []selfFence
	for name, drv := range d.drivers {
		if !d.localSets[name] {
			continue
		}
		st, err := drv.Status(ctx)
		if err != nil {
			d.log.Error("self-fence: data status", "set", name, "err", err)
			continue
		}
		for _, m := range LocalPrimaries(st, d.opts.Site) {
			if err := drv.Fence(ctx, m, 0); err != nil { // no leadership: a safety fence
				d.log.Error("self-fence: primary not fenced", "set", name, "member", m, "err", err)
				continue
			}
			d.log.Warn("self-fence: local primary made read-only", "set", name, "member", m)
			fenced = append(fenced, selfFence{set: name, member: m, at: time.Now()})
		}
	}
	d.addSelfFences(fenced...)
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
func (d *Daemon) unfenceLocalData(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, dataFenceTimeout)
	defer cancel()
	d.mu.Lock()
	fenced := slices.Clone(d.fencedData)
	d.mu.Unlock()
	var lifted []selfFence
	for _, f := range fenced {
		set, member := f.set, f.member
		tok, err := d.mayUnfence(ctx, set, member)
		if err != nil {
			d.log.Warn("self-fenced primary stays fenced", "set", set, "member", member, "reason", err)
			continue
		}
		u, ok := d.drivers[set].(data.Unfencer)
		if !ok {
			continue
		}
		if err := u.Unfence(ctx, member, tok); err != nil {
			d.log.Warn("self-fenced primary not unfenced", "set", set, "member", member, "err", err)
			continue
		}
		d.log.Info("self-fence lifted: the site is still active and the majority is back", "set", set, "member", member)
		lifted = append(lifted, f)
	}
	// Entries that stay are re-derived from each data observation (selffenced.go).
	d.removeSelfFences(lifted)
}

// mayUnfence checks in etcd (linearizable reads: the majority is back) that the
// self-fence of member in set may be lifted for every application using set
// (unfenceAllowed), and returns the current leader's fencing token for the unfence:
// the member refuses it if a newer leader has acted on it since.
func (d *Daemon) mayUnfence(ctx context.Context, set, member string) (int64, error) {
	leader, err := coord.Leader(ctx, d.client)
	if err != nil {
		return 0, fmt.Errorf("current leader: %w", err)
	}
	if leader.IsZero() {
		return 0, errors.New("no leader holds a fencing token yet")
	}
	for _, a := range d.opts.Fleet.Applications {
		if a.Spec.Data == nil || a.Spec.Data.MirrorSet != set {
			continue
		}
		resp, err := d.client.Get(ctx, coord.ActiveKey(a.Name))
		if err != nil {
			return 0, err
		}
		active := a.Spec.Policy.ActiveSite
		if len(resp.Kvs) > 0 {
			active = string(resp.Kvs[0].Value)
		}
		open, err := runbook.Open(ctx, d.client, a.Name)
		if err != nil {
			return 0, err
		}
		if err := unfenceAllowed(a.Name, active, d.opts.Site, member, open); err != nil {
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
