package daemon

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/crwrite"
	"hadron.dev/hadron/internal/fleet"
)

// crStatusEvery is how often the leader compares the custom resources' status with
// what it knows. A round is one list per resource and cluster; writes happen only on
// change, so the interval bounds how stale `kubectl get applications` is and how late
// an Event is, not the load.
const crStatusEvery = 10 * time.Second

// crStatus is the leader loop that writes the status of the Application and MirrorSet
// objects and the Events of runs and decisions into every site's cluster. Only the
// leader writes: the fencing token is checked before each round, and the loop ends
// with the leadership. A cluster without hadron's CRDs is skipped (logged once).
type crStatus struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	conns  *siteConns
	site   string
	status func(ctx context.Context) api.Status
	every  time.Duration
	log    *slog.Logger
	// rounder, when set, stands in for the writer (tests).
	rounder func() rounder
}

// rounder is what the loop needs of crwrite.Writer.
type rounder interface {
	Round(ctx context.Context) (crwrite.Result, error)
}

func (c *crStatus) lead(ctx context.Context, t *term) {
	log := c.log.With("component", "cr-status")
	var w rounder = &crwrite.Writer{Fleet: c.fleet, Connect: c.conns.get, Instance: c.site, Log: log,
		Source: crwrite.FromEtcd(c.client, c.status)}
	if c.rounder != nil {
		w = c.rounder()
	}
	every := c.every
	if every <= 0 {
		every = crStatusEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := coord.Fenced(gctx, c.client, t.tok)
		cancel()
		switch {
		case coord.IsFenced(err):
			log.Info("deposed: no longer writing the custom resources' status", "token", t.tok.Rev)
			return
		case err != nil:
			log.Debug("leadership not confirmed; status round skipped", "err", err)
		default:
			if _, err := w.Round(ctx); err != nil {
				log.Debug("status round incomplete", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
