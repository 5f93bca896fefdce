package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"hadron.dev/hadron/internal/gslb"
)

// Engine holds the answers of the current state and swaps them atomically when the
// state changes, so queries never wait for a recompilation.
type Engine struct {
	cat *gslb.Catalog
	cur atomic.Pointer[compiled]
	// seq numbers answered queries of the main names (weighted, round-robin).
	seq atomic.Uint64
}

// NewEngine returns an engine for cat that answers SERVFAIL until its first Update: a
// server that has not read the state yet (a daemon restarted while etcd is slow or out
// of reach) does not know which site is active, and answering the policy's default
// would send clients to a site a failover has fenced. SERVFAIL sends resolvers to the
// zone's other name servers.
func NewEngine(cat *gslb.Catalog) (*Engine, error) {
	if cat == nil {
		return nil, fmt.Errorf("new engine: no catalog")
	}
	return &Engine{cat: cat}, nil
}

// Update precomputes the answers of st and makes them current.
func (e *Engine) Update(st gslb.State) error {
	c, err := compile(e.cat, st)
	if err != nil {
		return fmt.Errorf("state version %d: %w", st.Version, err)
	}
	e.cur.Store(c)
	return nil
}

// Version is the state version being answered (0: none yet).
func (e *Engine) Version() uint64 {
	if c := e.current(); c != nil {
		return c.version
	}
	return 0
}

// Ready says whether the engine has a state to answer from.
func (e *Engine) Ready() bool { return e.current() != nil }

// current is the state being answered; nil before the first Update.
func (e *Engine) current() *compiled { return e.cur.Load() }

// Follow updates the engine from store until ctx ends.
func (e *Engine) Follow(ctx context.Context, store gslb.Store, log *slog.Logger) error {
	ch, err := store.Watch(ctx)
	if err != nil {
		return fmt.Errorf("watch state: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case st := <-ch:
			if err := e.Update(st); err != nil {
				log.Error("state not applied; answering the previous one", "err", err)
				continue
			}
			log.Debug("answering state", "version", st.Version)
		}
	}
}
