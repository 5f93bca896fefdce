package gslb

import (
	"context"
	"maps"
	"sync"

	"hadron.dev/hadron/internal/probe"
)

// State is what answers depend on besides the fleet: which site of each application
// is active and what the quorum says of each site.
type State struct {
	// Version increases with every change; answers are precomputed per version.
	Version uint64
	Apps    map[string]AppState
}

// AppState is one application's part of State.
type AppState struct {
	// Active overrides the policy's active site (after a failover); empty keeps it.
	Active string
	Health map[string]probe.Verdict
}

// Store holds the state answers come from. The in-process MemStore is fed by local
// probes; the control plane keeps the same state in etcd so that every region's
// server answers alike.
type Store interface {
	// Current returns the latest state.
	Current(ctx context.Context) (State, error)
	// Watch sends the current state and then every new one until ctx ends. A slow
	// reader may miss intermediate states, never the latest.
	Watch(ctx context.Context) (<-chan State, error)
}

// MemStore is a Store in memory.
type MemStore struct {
	mu       sync.Mutex
	st       State
	watchers map[chan State]struct{}
}

// NewMemStore returns an empty store at version 1.
func NewMemStore() *MemStore {
	return &MemStore{st: State{Version: 1, Apps: map[string]AppState{}}, watchers: map[chan State]struct{}{}}
}

// Current implements Store.
func (m *MemStore) Current(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st, nil
}

// Watch implements Store.
func (m *MemStore) Watch(ctx context.Context) (<-chan State, error) {
	ch := make(chan State, 1)
	m.mu.Lock()
	ch <- m.st
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}()
	return ch, nil
}

// SetHealth records the verdict of one site of one application.
func (m *MemStore) SetHealth(app, site string, v probe.Verdict) {
	m.update(app, func(a *AppState) bool {
		if a.Health[site] == v {
			return false
		}
		a.Health[site] = v
		return true
	})
}

// SetActive makes site the active site of app.
func (m *MemStore) SetActive(app, site string) {
	m.update(app, func(a *AppState) bool {
		if a.Active == site {
			return false
		}
		a.Active = site
		return true
	})
}

// update copies the application's state, applies f and publishes a new version when
// f changed something. States handed out are never mutated.
func (m *MemStore) update(app string, f func(*AppState) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.st.Apps[app]
	a := AppState{Active: old.Active, Health: maps.Clone(old.Health)}
	if a.Health == nil {
		a.Health = map[string]probe.Verdict{}
	}
	if !f(&a) {
		return
	}
	apps := maps.Clone(m.st.Apps)
	apps[app] = a
	m.st = State{Version: m.st.Version + 1, Apps: apps}
	for ch := range m.watchers {
		// Keep only the newest state in the channel.
		select {
		case <-ch:
		default:
		}
		ch <- m.st
	}
}
