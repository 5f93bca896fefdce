package daemon

import (
	"context"
	"sync/atomic"
)

// fenceDecision hands the quorum's self-fencing decision to a loop that acts on it:
// set never blocks the quorum, and the loop, woken by next, always reads the newest
// decision, so a flap that outpaces the loop's action is acted on once it is done.
type fenceDecision struct {
	fenced atomic.Bool
	kick   chan struct{}
}

func newFenceDecision() *fenceDecision { return &fenceDecision{kick: make(chan struct{}, 1)} }

func (d *fenceDecision) set(fenced bool) {
	d.fenced.Store(fenced)
	select {
	case d.kick <- struct{}{}:
	default: // a kick is pending: the loop reads the newest decision
	}
}

// now is the newest decision.
func (d *fenceDecision) now() bool { return d.fenced.Load() }

// next waits for a decision and returns it; false with ok false when ctx ends.
func (d *fenceDecision) next(ctx context.Context) (fenced, ok bool) {
	select {
	case <-ctx.Done():
		return false, false
	case <-d.kick:
		return d.now(), true
	}
}
