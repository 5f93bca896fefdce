package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/dashboard"
	"hadron.dev/hadron/internal/runbook"
)

// dashboardRoutes are the dashboard's routes backed by this daemon: its status, the
// runs and ledger in etcd, and a watch of the keys whose change the page shows.
func (d *Daemon) dashboardRoutes() *dashboard.Server {
	return dashboard.New(dashboard.Source{
		Status: d.Status,
		Open: func(ctx context.Context) ([]runbook.Record, error) {
			var out []runbook.Record
			for _, a := range d.opts.Fleet.Applications {
				r, err := runbook.Open(ctx, d.client, a.Name)
				if err != nil {
					return nil, err
				}
				if r != nil {
					out = append(out, *r)
				}
			}
			return out, nil
		},
		History: func(ctx context.Context) ([]runbook.Record, error) { return runbook.History(ctx, d.client, "") },
		Run: func(ctx context.Context, app, id string) (*runbook.Record, error) {
			return runbook.Get(ctx, d.client, app, id)
		},
		Changes:  d.stateChanges,
		Decide:   d.decideFromPage,
		Topology: dashboard.TopologyOf(d.opts.Fleet),
	}, d.log.With("component", "dashboard"))
}

// watchedDirs are the keys the dashboard shows: who leads, what each observer sees,
// the applications' state, the runs, the ledger and the stand-bys' readiness.
var watchedDirs = []string{coord.LeaderPrefix, coord.ObservationsDir, coord.AppsDir, coord.RunbooksDir, coord.LedgerDir, coord.ReadinessDir}

// stateChanges signals every change under watchedDirs until ctx ends. The signal is
// dropped when one is already pending: the reader rebuilds from the current state,
// so one pending signal stands for any number of changes. A watch that ends (the
// etcd leader lost) is started again a second later; meanwhile the page still gets
// the dashboard's periodic view.
func (d *Daemon) stateChanges(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	for _, dir := range watchedDirs {
		go func() {
			for ctx.Err() == nil {
				for range d.client.Watch(clientv3.WithRequireLeader(ctx), dir, clientv3.WithPrefix()) {
					select {
					case out <- struct{}{}:
					default:
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	}
	return out
}

// decideFromPage resumes or aborts a run for the dashboard: here when this daemon
// leads, else at the leader, called with the caller's own token (so the leader checks
// its role again and its ledger names the same caller) over this daemon's client TLS.
func (d *Daemon) decideFromPage(ctx context.Context, verb, app, id, secret string, dec api.RunDecision) (*runbook.Record, error) {
	local, remote := d.runs.resume, (*api.Client).ResumeRun
	if verb == "abort" {
		local, remote = d.runs.abort, (*api.Client).AbortRun
	}
	rec, err := local(ctx, app, id, dec)
	leader, notLeader := api.NotLeader(err)
	if !notLeader || leader == "" || leader == d.opts.Site {
		return rec, err
	}
	site := d.opts.Fleet.Site(leader)
	if site == nil || site.Spec.Daemon == nil {
		return nil, fmt.Errorf("leader %s has no daemon in the fleet: %w", leader, err)
	}
	tlsCfg, terr := d.opts.PKI.ClientTLS(d.opts.Site)
	if terr != nil {
		return nil, fmt.Errorf("%s at the leader %s: %w", verb, leader, terr)
	}
	c := &api.Client{Addr: site.Spec.Daemon.API.From(d.site.Spec.Region), Site: leader, Token: secret, TLS: tlsCfg}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dec.Who = "" // the leader takes the name from the token
	for {
		rec, err = remote(c, fctx, app, id, dec)
		// This daemon accepted the token, so a refusal by the leader most likely means
		// its copy of the tokens has not caught up with one just created: ask again
		// for a while (a revoked token stays refused).
		if !errors.Is(err, api.ErrUnauthorized) || fctx.Err() != nil {
			break
		}
		select {
		case <-fctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s at the leader %s: %w", verb, leader, err)
	}
	return rec, nil
}
