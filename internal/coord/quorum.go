package coord

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults of the quorum check.
const (
	DefaultQuorumInterval = 500 * time.Millisecond
	// DefaultFenceAfter is how long a daemon may go without reaching a majority before
	// it fences its own site. It is below DefaultLeaseTTL so that a cut-off site stops
	// taking traffic before a leader elsewhere could act on its absence.
	DefaultFenceAfter = 2 * time.Second
)

// SelfFenced is the self-fencing decision: a daemon that has not reached a majority for
// fenceAfter must stop vouching for its own site. A daemon that never reached one is
// fenced from the start.
func SelfFenced(lastOK, now time.Time, fenceAfter time.Duration) bool {
	return lastOK.IsZero() || now.Sub(lastOK) > fenceAfter
}

// Quorum checks, by a linearizable read every Interval, that the local daemon reaches a
// majority of the etcd cluster.
type Quorum struct {
	Client     *clientv3.Client
	Interval   time.Duration
	FenceAfter time.Duration
	// OnChange is called when the self-fencing decision flips.
	OnChange func(fenced bool)
	Now      func() time.Time

	mu      sync.Mutex
	lastOK  time.Time
	lastErr error
	fenced  bool
}

// QuorumState is a snapshot of the check.
type QuorumState struct {
	OK      bool
	LastOK  time.Time
	Fenced  bool
	LastErr string
}

// Run checks until ctx ends.
func (q *Quorum) Run(ctx context.Context) {
	interval, fenceAfter := q.Interval, q.FenceAfter
	if interval <= 0 {
		interval = DefaultQuorumInterval
	}
	if fenceAfter <= 0 {
		fenceAfter = DefaultFenceAfter
	}
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	q.mu.Lock()
	q.fenced = true
	q.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, interval*2)
		_, err := q.Client.Get(rctx, QuorumKey)
		cancel()
		q.mu.Lock()
		if err == nil {
			q.lastOK = now()
		}
		q.lastErr = err
		fenced := SelfFenced(q.lastOK, now(), fenceAfter)
		changed := fenced != q.fenced
		q.fenced = fenced
		q.mu.Unlock()
		if changed && q.OnChange != nil {
			q.OnChange(fenced)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// State returns the latest result.
func (q *Quorum) State() QuorumState {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := QuorumState{OK: q.lastErr == nil && !q.lastOK.IsZero(), LastOK: q.lastOK, Fenced: q.fenced || q.lastOK.IsZero()}
	if q.lastErr != nil {
		s.LastErr = q.lastErr.Error()
	}
	return s
}
