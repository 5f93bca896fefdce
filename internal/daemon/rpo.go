package daemon

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
)

// countEvery is how often the leader looks for failovers whose RPO can now be counted.
const countEvery = 5 * time.Second

// rpoCounter is the leader loop that completes the RPO of every failover that had to
// promote without its old primary: once the old primary returns and is rewound, the
// data driver has counted the commits the rewind discarded (data.DiscardReader), which
// are exactly the ones the promotion lost.
type rpoCounter struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	data   *dataView
	log    *slog.Logger
}

func (c *rpoCounter) lead(ctx context.Context, t *term) {
	tok := t.tok
	for {
		for _, a := range c.fleet.Applications {
			if a.Spec.Data == nil {
				continue
			}
			dr, ok := c.data.driver(a.Spec.Data.MirrorSet).(data.DiscardReader)
			if !ok {
				continue
			}
			if err := c.completeApp(ctx, tok, a.Name, dr); coord.IsFenced(err) {
				return
			} else if err != nil {
				c.log.Debug("RPO not completed", "app", a.Name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(countEvery):
		}
	}
}

func (c *rpoCounter) completeApp(ctx context.Context, tok coord.Token, app string, dr data.DiscardReader) error {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hist, err := runbook.History(hctx, c.client, app)
	if err != nil {
		return err
	}
	var todo []runbook.Record
	for _, r := range hist {
		if runbook.NeedsCount(&r) {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ds, err := dr.Discarded(hctx)
	if err != nil {
		return err
	}
	for i := range todo {
		r := &todo[i]
		if !runbook.CompleteRPO(r, ds) {
			continue
		}
		if err := runbook.Amend(hctx, c.client, tok, r); err != nil {
			return err
		}
		c.log.Info("failover RPO counted", "app", app, "run", r.ID, "transactions", r.RPO.Transactions, "bytes", r.RPO.Bytes, "method", r.RPO.Method)
	}
	return nil
}
