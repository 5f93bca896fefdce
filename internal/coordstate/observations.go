package coordstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/probe"
)

// Publisher writes the local observer's probe results to etcd. Record never blocks: a
// result waits in a one-per-key slot, so when etcd is slow or unreachable only the
// newest result of each site is written once it is back.
type Publisher struct {
	Client *clientv3.Client
	Log    *slog.Logger

	mu      sync.Mutex
	pending map[string]probe.Observation
	wake    chan struct{}
}

// NewPublisher returns a publisher; run it with Run.
func NewPublisher(c *clientv3.Client, log *slog.Logger) *Publisher {
	return &Publisher{Client: c, Log: log, pending: map[string]probe.Observation{}, wake: make(chan struct{}, 1)}
}

// Record queues ob for writing; it is a probe.Runner's Record.
func (p *Publisher) Record(ob probe.Observation) {
	p.mu.Lock()
	p.pending[coord.ObservationKey(ob.App, ob.Site, ob.Observer)] = ob
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Coalesce is how long the publisher gathers results after the first one wakes it:
// with a hundred applications an observer has a result every few milliseconds, and
// one transaction per result would be as many etcd writes through the quorum. It adds
// at most this much to the time a failure takes to be seen (three probe intervals).
const Coalesce = 100 * time.Millisecond

// Run writes queued observations until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(Coalesce):
		}
		p.mu.Lock()
		batch := p.pending
		p.pending = map[string]probe.Observation{}
		p.mu.Unlock()
		ops := make([]clientv3.Op, 0, len(batch))
		for k, ob := range batch {
			b, err := json.Marshal(ob)
			if err != nil {
				continue
			}
			ops = append(ops, clientv3.OpPut(k, string(b)))
		}
		for chunk := range slices.Chunk(ops, coord.MaxTxnOps) {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := p.Client.Txn(wctx).Then(chunk...).Commit()
			cancel()
			if err != nil && ctx.Err() == nil {
				p.Log.Debug("observations not written", "n", len(chunk), "err", err)
			}
		}
	}
}

// Observations follows every observer's results in etcd and hands each one, in the
// order etcd committed them, to Record (a probe.Tracker's Record), so that every
// daemon's tracker sees the same sequence.
type Observations struct {
	Client *clientv3.Client
	Record func(probe.Observation)
	Log    *slog.Logger
}

// Run follows until ctx ends, starting over after a compaction or a lost watch.
func (o *Observations) Run(ctx context.Context) {
	follow(ctx, o.Log, "observation watch restarts", o.follow)
}

func (o *Observations) follow(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := o.Client.Get(gctx, coord.ObservationsDir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("list observations: %w", err)
	}
	for _, kv := range resp.Kvs {
		o.apply(kv.Key, kv.Value)
	}
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	wch := o.Client.Watch(wctx, coord.ObservationsDir, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			// A compaction or a lost leader: list again and watch from there.
			return fmt.Errorf("watch observations: %w", err)
		}
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypePut {
				o.apply(ev.Kv.Key, ev.Kv.Value)
			}
		}
	}
	return errors.New("watch observations: channel closed")
}

func (o *Observations) apply(key, value []byte) {
	app, site, observer, ok := coord.ParseObservationKey(string(key))
	if !ok {
		return
	}
	var ob probe.Observation
	if err := json.Unmarshal(value, &ob); err != nil {
		o.Log.Warn("observation not understood", "key", string(key), "err", err)
		return
	}
	// The key is authoritative: a value cannot vote for another observer or site.
	ob.App, ob.Site, ob.Observer = app, site, observer
	o.Record(ob)
}
