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

// NewEngine returns an engine answering cat in an empty state (every site unknown,
// so main names answer their active sites).
func NewEngine(cat *gslb.Catalog) (*Engine, error) {
	e := &Engine{cat: cat}
	if err := e.Update(gslb.State{Apps: map[string]gslb.AppState{}}); err != nil {
		return nil, err
	}
	return e, nil
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

// Version is the state version being answered.
func (e *Engine) Version() uint64 { return e.current().version }

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
