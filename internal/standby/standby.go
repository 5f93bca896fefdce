// Package standby keeps an application's stand-by sites ready: it runs the object
// replicator and, beside it, cross-site service discovery, until its context ends.
// `hadron replicate` runs it in the foreground; the daemon runs it for the
// applications whose active site it leads.
package standby

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// Config is one application with connections to its sites.
type Config struct {
	App      *v1alpha1.Application
	Sites    []*v1alpha1.Site
	Active   *site.Conn
	Standbys []*site.Conn
	Log      *slog.Logger
	// Workers is the replicator's concurrency (default 4).
	Workers int
	// DiscoveryEvery is how often exports are synced (default 5s).
	DiscoveryEvery time.Duration
	// Ready, when set, receives the Replicator once it is built (for status pages).
	Ready func(*replicate.Replicator)
}

// Run replicates and syncs exports until ctx ends; it returns nil then, or the error
// that stopped the replicator.
func Run(ctx context.Context, c Config) error {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.DiscoveryEvery <= 0 {
		c.DiscoveryEvery = 5 * time.Second
	}
	r, err := replicate.New(replicate.Config{App: c.App, Active: c.Active, Standbys: c.Standbys, Log: c.Log, Workers: c.Workers})
	if err != nil {
		return err
	}
	if c.Ready != nil {
		c.Ready(r)
	}
	conns := map[string]*site.Conn{c.Active.Name: c.Active}
	for _, s := range c.Standbys {
		conns[s.Name] = s
	}
	members := discovery.Members(c.App, c.Sites, conns)
	dlog := c.Log.With("component", "discovery")
	release, err := discovery.Watch(c.App, members)
	if err != nil {
		return fmt.Errorf("stand-by %s: %w", c.App.Name, err)
	}
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	t := time.NewTicker(c.DiscoveryEvery)
	defer t.Stop()
	for {
		if _, err := discovery.Sync(ctx, c.App, members, false, dlog); err != nil && ctx.Err() == nil {
			dlog.Error("cross-site discovery", "app", c.App.Name, "err", err)
		}
		select {
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("stand-by %s: %w", c.App.Name, err)
			}
			return nil
		case <-t.C:
		}
	}
}
