package runbook

import (
	"errors"
	"fmt"
	"testing"

	"hadron.dev/hadron/internal/retry"
)

// failedAt is a failover stopped at its second step (promote) with err, after one
// attempt of it.
func failedAt(err error) *Record {
	r := NewRecord("id", "shop", Failover, "east", "west", "auto", *at(0), []string{StepFence, StepPromote, StepVerify})
	Begin(r, 0, 10, *at(1))
	End(r, 0, 10, *at(2), "fenced", false)
	Begin(r, 1, 10, *at(2))
	Fail(r, 1, err)
	return r
}

func TestRetry(t *testing.T) {
	lossBound := fmt.Errorf("promote west-0: %w", retry.Permanent("%w: would lose 40 bytes", ErrLossBound))
	done := failedAt(errors.New("x"))
	done.Status = StatusDone
	running := failedAt(errors.New("x"))
	Begin(running, 1, 11, *at(3))
	tests := []struct {
		name      string
		r         *Record
		force     bool
		err       error
		wantForce bool
	}{
		{"a step that ran out of budget is asked again", failedAt(errors.New("unreachable")), false, nil, false},
		{"a permanent error is asked again by a person", failedAt(retry.Permanent("boom")), false, nil, false},
		{"the loss bound needs force", failedAt(lossBound), false, ErrForceNeeded, false},
		{"a forced resume passes the loss bound", failedAt(lossBound), true, nil, true},
		{"a running run is not resumed", running, false, ErrNotFailed, false},
		{"a closed run is not resumed", done, true, ErrRunClosed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			failure, attempts := r.Error, r.Steps[1].Attempt
			err := Retry(r, "bob", tt.force, *at(9))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Retry: %v, want %v", err, tt.err)
			}
			if err != nil {
				if len(r.Resumes) != 0 {
					t.Fatalf("a refused resume was recorded: %+v", r.Resumes)
				}
				return
			}
			if r.Status != StatusRunning || r.Error != "" || r.Who != "auto" || r.Force != tt.wantForce || r.NeedsForce {
				t.Fatalf("after Retry: status %s error %q who %s force %v needsForce %v", r.Status, r.Error, r.Who, r.Force, r.NeedsForce)
			}
			want := Decision{Who: "bob", At: *at(9), Failure: failure, Force: tt.force}
			if len(r.Resumes) != 1 || r.Resumes[0] != want {
				t.Fatalf("resumes %+v, want [%+v]", r.Resumes, want)
			}
			i, more := Next(r)
			s := r.Steps[i]
			if !more || i != 1 || s.Error != "" || s.Ended != nil || s.Attempt != attempts || s.Started == nil {
				t.Fatalf("next step %d %+v, want promote asked again with its attempts kept", i, s)
			}
			Begin(r, i, 12, *at(10))
			if r.Steps[1].Attempt != attempts+1 {
				t.Fatalf("attempt %d after the resume, want %d", r.Steps[1].Attempt, attempts+1)
			}
		})
	}
}

func TestFailMarksOnlyTheLossBoundForForce(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{retry.Permanent("%w: unknown loss", ErrLossBound), true},
		{fmt.Errorf("promote: %w", ErrNoTarget), false},
		{retry.Permanent("refused"), false},
	} {
		if got := failedAt(tt.err).NeedsForce; got != tt.want {
			t.Errorf("Fail(%v): needsForce %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestAbort(t *testing.T) {
	done := failedAt(errors.New("x"))
	done.Status, done.Closed = StatusDone, at(5)
	running := func() *Record {
		r := failedAt(errors.New("x"))
		Begin(r, 1, 11, *at(3))
		return r
	}
	tests := []struct {
		name  string
		r     *Record
		force bool
		err   error
	}{
		{"a failed run is closed", failedAt(errors.New("unreachable")), false, nil},
		{"a run stopped at the loss bound is closed without force", failedAt(retry.Permanent("%w", ErrLossBound)), false, nil},
		{"a running run is refused", running(), false, ErrNotFailed},
		{"a running run is closed with force", running(), true, nil},
		{"a closed run is refused", done, true, ErrRunClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			before := Clone(r)
			err := Abort(r, "carol", "site rebuilt by hand", tt.force, *at(9))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Abort: %v, want %v", err, tt.err)
			}
			if err != nil {
				if r.Status != before.Status || r.Aborted != nil {
					t.Fatalf("a refused abort changed the run: %s %+v", r.Status, r.Aborted)
				}
				return
			}
			want := Decision{Who: "carol", At: *at(9), Failure: before.Error, Reason: "site rebuilt by hand", Force: tt.force}
			if r.Status != StatusAborted || r.Closed == nil || !r.Closed.Equal(*at(9)) || r.Aborted == nil || *r.Aborted != want {
				t.Fatalf("after Abort: status %s closed %v aborted %+v, want %+v", r.Status, r.Closed, r.Aborted, want)
			}
			// Nothing ran: the steps are as they were, and no RTO is claimed.
			for i := range r.Steps {
				if r.Steps[i] != before.Steps[i] {
					t.Fatalf("step %d changed: %+v → %+v", i, before.Steps[i], r.Steps[i])
				}
			}
			if r.Verified != nil || r.RTO != 0 || r.SystemRTO != 0 {
				t.Fatalf("aborted run claims a verification: %v %s %s", r.Verified, r.RTO, r.SystemRTO)
			}
		})
	}
}
