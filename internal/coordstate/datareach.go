package coordstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
)

// DataReach is what one daemon says about the mirror sets it cannot act on: it has no
// driver for them (a password it cannot read, a set it cannot configure). A leader
// that cannot act on a set would fence and promote nothing, so the daemons hand the
// leadership to one that can, and status shows every daemon's list.
type DataReach struct {
	// CannotAct is set → why; empty when the daemon can act on every mirror set. The
	// reason names where a secret was looked for, never the secret.
	CannotAct map[string]string `json:"cannotAct,omitempty"`
}

// PublishDataReach writes site's DataReach (coord.DataReachKey). It is the daemon's own
// observation, like its probe results: no leadership needed.
func PublishDataReach(ctx context.Context, c *clientv3.Client, site string, r DataReach) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := c.Put(ctx, coord.DataReachKey(site), string(b)); err != nil {
		return fmt.Errorf("publish data reach of %s: %w", site, err)
	}
	return nil
}

// DataReaches follows every daemon's DataReach in etcd.
type DataReaches struct {
	Client *clientv3.Client
	Log    *slog.Logger

	mu sync.Mutex
	by map[string]DataReach
}

// Get is what site's daemon published; ok is false when it published nothing (yet).
func (f *DataReaches) Get(site string) (DataReach, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.by[site]
	return r, ok
}

// All is every daemon's published DataReach, by site.
func (f *DataReaches) All() map[string]DataReach {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.by)
}

// Run follows until ctx ends, listing again after a compaction or a lost watch.
func (f *DataReaches) Run(ctx context.Context) {
	follow(ctx, f.Log, "data reach watch restarts", f.follow)
}

func (f *DataReaches) follow(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := f.Client.Get(gctx, coord.DaemonsDir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("list data reach: %w", err)
	}
	by := map[string]DataReach{}
	for _, kv := range resp.Kvs {
		if site, r, ok := f.parse(kv.Key, kv.Value); ok {
			by[site] = r
		}
	}
	f.mu.Lock()
	f.by = by
	f.mu.Unlock()
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	wch := f.Client.Watch(wctx, coord.DaemonsDir, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch data reach: %w", err)
		}
		for _, ev := range wr.Events {
			switch ev.Type {
			case clientv3.EventTypePut:
				if site, r, ok := f.parse(ev.Kv.Key, ev.Kv.Value); ok {
					f.mu.Lock()
					f.by[site] = r
					f.mu.Unlock()
				}
			case clientv3.EventTypeDelete:
				if site, ok := coord.ParseDataReachKey(string(ev.Kv.Key)); ok {
					f.mu.Lock()
					delete(f.by, site)
					f.mu.Unlock()
				}
			}
		}
	}
	return errors.New("watch data reach: channel closed")
}

func (f *DataReaches) parse(key, value []byte) (string, DataReach, bool) {
	site, ok := coord.ParseDataReachKey(string(key))
	if !ok {
		return "", DataReach{}, false
	}
	var r DataReach
	if err := json.Unmarshal(value, &r); err != nil {
		f.Log.Warn("data reach not understood", "key", string(key), "err", err)
		return "", DataReach{}, false
	}
	return site, r, true
}
