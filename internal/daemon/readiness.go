package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/readiness"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// readinessEvery is how often the leader checks every application's stand-bys. A
// check lists the application's objects on all its sites, so it is not cheap; the
// stand-bys' readiness changes on the scale of deployments, not seconds.
const readinessEvery = 30 * time.Second

// readinessFirst is how long a new leader waits before its first check.
const readinessFirst = 5 * time.Second

// readinessTimeout bounds one application's check: a site that does not answer makes
// the report an error, it does not hold the loop.
const readinessTimeout = 20 * time.Second

// readinessChecks is the leader loop that runs `hadron check readiness` for every
// application whose sites are Kubernetes clusters, adds the archive lag of its mirror
// set when the set has a backup repository (an application with only that gets a
// report with only that), and keeps the report in etcd (internal/readiness), where
// every daemon's status reads it.
type readinessChecks struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	store  *coordstate.Store
	conns  *siteConns
	data   *dataView
	site   string
	every  time.Duration
	log    *slog.Logger
}

// backupSet is the mirror set of a with a backup repository, or "".
func backupSet(f *fleet.Fleet, a *v1alpha1.Application) string {
	if a.Spec.Data == nil {
		return ""
	}
	if ms := f.MirrorSet(a.Spec.Data.MirrorSet); ms != nil && ms.Spec.Backup != nil {
		return ms.Name
	}
	return ""
}

func (r *readinessChecks) lead(ctx context.Context, t *term) {
	every := r.every
	if every <= 0 {
		every = readinessEvery
	}
	// The first check waits a little: a new leader's replicators are just starting,
	// and a report of every object missing on the stand-bys would stand for 30 s.
	wait := readinessFirst
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = every
		for _, a := range r.fleet.Applications {
			kube := kubeSites(r.fleet, a)
			if !kube && backupSet(r.fleet, a) == "" {
				continue
			}
			if err := r.check(ctx, t.tok, a.Name, kube); coord.IsFenced(err) || ctx.Err() != nil {
				return
			} else if err != nil {
				r.log.Debug("readiness not checked", "app", a.Name, "err", err)
			}
		}
	}
}

// check checks app once (its sites when kube says they are clusters) and saves the
// report. While a run is open the sites are changing under it: the last report stays
// until the run has closed.
func (r *readinessChecks) check(ctx context.Context, tok coord.Token, name string, kube bool) error {
	a := r.fleet.Application(name)
	octx, cancel := context.WithTimeout(ctx, 2*time.Second)
	open, err := runbook.Open(octx, r.client, name)
	cancel()
	if err != nil {
		return fmt.Errorf("open run of %s: %w", name, err)
	}
	if open != nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	st, err := r.store.Current(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("active site of %s: %w", name, err)
	}
	active := st.Apps[name].Active
	if active == "" {
		active = a.Spec.Policy.ActiveSite
	}
	res, err := &replicate.Readiness{}, error(nil)
	if kube {
		cctx, cancel := context.WithTimeout(ctx, readinessTimeout)
		defer cancel()
		res, err = r.checkSites(cctx, activeAt(a, active))
	}
	rep := readiness.Summarize(r.site, active, res, err, time.Now())
	if set := backupSet(r.fleet, a); set != "" && r.data != nil {
		// The leader's latest observation, at most dataEvery old.
		if ds, ok := r.data.set(set); ok {
			if f := readiness.ArchiveFinding(set, ds.Archive); f != nil {
				rep.Findings = append(rep.Findings, *f)
			}
		}
	}
	return readiness.Save(ctx, r.client, tok, name, rep)
}

// checkSites connects to app's active site and stand-bys and checks them.
func (r *readinessChecks) checkSites(ctx context.Context, app *v1alpha1.Application) (*replicate.Readiness, error) {
	act, err := r.conns.get(app.Spec.Policy.ActiveSite)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", app.Spec.Policy.ActiveSite, err)
	}
	var sbs []*site.Conn
	for _, s := range app.Spec.Policy.StandbySites {
		c, err := r.conns.get(s)
		if err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", s, err)
		}
		sbs = append(sbs, c)
	}
	res, err := replicate.CheckReadiness(ctx, app, act, sbs, time.Now(), r.log.With("component", "readiness"))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("no answer within %s: %w", readinessTimeout, err)
	}
	return res, err
}
