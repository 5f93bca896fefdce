package crwrite

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/runbook"
)

// FromEtcd is the daemon's Source: its status, and the runs as the runbook store
// keeps them in etcd (the open run, the ledger's newest).
func FromEtcd(c *clientv3.Client, status func(ctx context.Context) api.Status) Source {
	return Source{Status: status,
		Open: func(ctx context.Context, app string) (*runbook.Record, error) {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return runbook.Open(rctx, c, app)
		},
		Last: func(ctx context.Context, app string) (*runbook.Record, error) {
			// The whole history of app, read only when a run closed since the last
			// round (and once per leadership), not every round.
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			h, err := runbook.History(rctx, c, app)
			if err != nil || len(h) == 0 {
				return nil, err
			}
			return &h[len(h)-1], nil
		}}
}
