package daemon

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

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
		Topology: dashboard.TopologyOf(d.opts.Fleet),
	}, d.log.With("component", "dashboard"))
}

// watchedDirs are the keys the dashboard shows: who leads, what each observer sees,
// the applications' state, the runs and the ledger.
var watchedDirs = []string{coord.LeaderPrefix, coord.ObservationsDir, coord.AppsDir, coord.RunbooksDir, coord.LedgerDir}

// stateChanges signals every change under watchedDirs until ctx ends. The signal is
// dropped when one is already pending: the reader rebuilds from the current state,
// so one pending signal stands for any number of changes.
func (d *Daemon) stateChanges(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	ctx = clientv3.WithRequireLeader(ctx)
	for _, dir := range watchedDirs {
		wch := d.client.Watch(ctx, dir, clientv3.WithPrefix())
		go func() {
			for range wch {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}()
	}
	return out
}
