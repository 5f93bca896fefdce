package coordstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

// Store is a gslb.Store fed by a watch on the applications' keys in etcd. Its version is
// the etcd revision of the last change to those keys, so every daemon answers the same
// state under the same SOA serial.
//
// When etcd is unreachable the store keeps answering the last state it saw; the
// self-fencing overlay (fence.go) is what changes answers then.
type Store struct {
	Client *clientv3.Client
	Log    *slog.Logger

	mu       sync.Mutex
	st       gslb.State
	synced   bool
	watchers map[chan gslb.State]struct{}
}

// NewStore returns a store at version 0 with no application state; run it with Run.
func NewStore(c *clientv3.Client, log *slog.Logger) *Store {
	return &Store{Client: c, Log: log, st: gslb.State{Apps: map[string]gslb.AppState{}},
		watchers: map[chan gslb.State]struct{}{}}
}

// Current implements gslb.Store.
func (s *Store) Current(context.Context) (gslb.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, nil
}

// Synced reports whether the store has read etcd at least once.
func (s *Store) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// Watch implements gslb.Store.
func (s *Store) Watch(ctx context.Context) (<-chan gslb.State, error) {
	ch := make(chan gslb.State, 1)
	s.mu.Lock()
	if s.synced {
		// Before the first read of etcd the store's state is nobody's: a watcher hears
		// nothing until it is read (an answer from it would name the policy's default
		// site, which a failover may have fenced).
		ch <- s.st
	}
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.watchers, ch)
		s.mu.Unlock()
	}()
	return ch, nil
}

// Run follows etcd until ctx ends.
func (s *Store) Run(ctx context.Context) {
	follow(ctx, s.Log, "application state watch restarts", s.follow)
}

func (s *Store) follow(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := s.Client.Get(gctx, coord.AppsDir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("list application state: %w", err)
	}
	apps := map[string]gslb.AppState{}
	version := uint64(0)
	for _, kv := range resp.Kvs {
		applyKey(apps, string(kv.Key), kv.Value, s.Log)
		version = max(version, uint64(kv.ModRevision))
	}
	s.publish(func(old gslb.State) (gslb.State, bool) {
		// Deleted keys can lower the newest revision; the version must still grow.
		return gslb.State{Version: max(version, old.Version+1), Apps: apps}, true
	})
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	wch := s.Client.Watch(wctx, coord.AppsDir, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch application state: %w", err)
		}
		if len(wr.Events) == 0 {
			continue
		}
		s.publish(func(old gslb.State) (gslb.State, bool) {
			apps := maps.Clone(old.Apps)
			rev := old.Version
			for _, ev := range wr.Events {
				var value []byte
				if ev.Type == clientv3.EventTypePut {
					value = ev.Kv.Value
				}
				applyKey(apps, string(ev.Kv.Key), value, s.Log)
				rev = max(rev, uint64(ev.Kv.ModRevision))
			}
			return gslb.State{Version: rev, Apps: apps}, true
		})
	}
	return errors.New("watch application state: channel closed")
}

// applyKey sets (or with a nil value clears) one application field in apps. States
// handed out are never mutated, so the application's entry is copied first.
func applyKey(apps map[string]gslb.AppState, key string, value []byte, log *slog.Logger) {
	app, field, ok := coord.ParseAppKey(key)
	if !ok {
		return
	}
	old := apps[app]
	a := gslb.AppState{Active: old.Active, Health: maps.Clone(old.Health)}
	switch field {
	case "active":
		a.Active = string(value)
	case "health":
		a.Health = nil
		if value != nil {
			if err := json.Unmarshal(value, &a.Health); err != nil {
				log.Warn("application health not understood", "key", key, "err", err)
				return
			}
		}
	default:
		return
	}
	apps[app] = a
}

func (s *Store) publish(f func(gslb.State) (gslb.State, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := f(s.st)
	if !ok {
		return
	}
	s.st, s.synced = st, true
	for ch := range s.watchers {
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

// PublishHealth writes app's verdicts as the leader holding token; it is refused with
// coord.ErrFenced when token is stale, so a deposed leader cannot move DNS.
func PublishHealth(ctx context.Context, c *clientv3.Client, token coord.Token, app string, verdicts map[string]probe.Verdict) error {
	_, err := PublishHealthOf(ctx, c, token, map[string]map[string]probe.Verdict{app: verdicts})
	return err
}

// PublishHealthOf writes the verdicts of several applications as the leader holding
// token, as few guarded transactions as etcd's limit on operations allows: a region
// lost at once changes the verdicts of every application in it, and one write per
// application, each a round trip through the quorum across regions, would publish the
// last of a hundred seconds after the first. It returns the applications written
// before an error; a refused token (coord.ErrFenced) stops it.
func PublishHealthOf(ctx context.Context, c *clientv3.Client, token coord.Token, verdicts map[string]map[string]probe.Verdict) ([]string, error) {
	apps := slices.Sorted(maps.Keys(verdicts))
	var written []string
	for chunk := range slices.Chunk(apps, coord.MaxTxnOps) {
		ops := make([]clientv3.Op, 0, len(chunk))
		for _, app := range chunk {
			b, err := json.Marshal(verdicts[app])
			if err != nil {
				return written, fmt.Errorf("health of %s: %w", app, err)
			}
			ops = append(ops, clientv3.OpPut(coord.HealthKey(app), string(b)))
		}
		if err := coord.Guarded(ctx, c, token, ops...); err != nil {
			if len(chunk) == 1 {
				return written, fmt.Errorf("health of %s: %w", chunk[0], err)
			}
			return written, fmt.Errorf("health of %d applications (%s…): %w", len(chunk), chunk[0], err)
		}
		written = append(written, chunk...)
	}
	return written, nil
}

// Activate makes site app's active site as the leader holding token. In the same
// transaction a "down" verdict of site becomes "unknown": a stand-by earns "down" while
// it is scaled to zero, and every name server would otherwise keep answering another
// site until the probes see the new active site up (the daemons' trackers start the
// site over when they see the change, probe.Tracker.Restart). Unknown never moves
// traffic, and probes taken from now on can still find it down.
func Activate(ctx context.Context, c *clientv3.Client, token coord.Token, app, site string) error {
	ops := []clientv3.Op{clientv3.OpPut(coord.ActiveKey(app), site)}
	resp, err := c.Get(ctx, coord.HealthKey(app))
	if err != nil {
		return fmt.Errorf("activate %s at %s: %w", app, site, err)
	}
	if len(resp.Kvs) == 1 {
		var v map[string]probe.Verdict
		if err := json.Unmarshal(resp.Kvs[0].Value, &v); err == nil && v[site] == probe.Down {
			v[site] = probe.Unknown
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("activate %s at %s: %w", app, site, err)
			}
			ops = append(ops, clientv3.OpPut(coord.HealthKey(app), string(b)))
		}
	}
	if err := coord.Guarded(ctx, c, token, ops...); err != nil {
		return fmt.Errorf("activate %s at %s: %w", app, site, err)
	}
	return nil
}

// follow runs one list-then-watch of a prefix (f) until ctx ends, again after a
// compaction or a lost watch, half a second apart.
func follow(ctx context.Context, log *slog.Logger, restart string, f func(context.Context) error) {
	for ctx.Err() == nil {
		err := f(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Debug(restart, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
