package runbook

import (
	"fmt"
	"time"
)

// Retry sets a failed run going again as who decided. The failed step is asked again
// from its pre-check (its attempts are kept, so the record shows how often it was
// tried), the run's error is cleared and the resume is recorded; Who stays the one who
// decided the run. A run stopped at the automatic loss bound goes on only with force:
// the person accepts the loss, and Force lets the promotion through.
func Retry(r *Record, who string, force bool, now time.Time) error {
	if err := stopped(r, false); err != nil {
		return err
	}
	if r.NeedsForce && !force {
		return fmt.Errorf("run %s of %s stopped at %s: %w", r.ID, r.App, r.Error, ErrForceNeeded)
	}
	r.Resumes = append(r.Resumes, Decision{Who: who, At: now, Failure: r.Error, Force: force})
	if i, more := Next(r); more {
		r.Steps[i].Error = ""
	}
	r.Force = r.Force || force
	r.NeedsForce, r.ForAnotherLeader = false, false
	r.Status, r.Error = StatusRunning, ""
	return nil
}

// Abort closes a failed run as who decided, for reason, without running anything: no
// step is undone or run, and the record keeps what had happened (the failed step, the
// error). With force a run marked running is aborted too — for a run that no engine
// executes (a step this version does not know); the caller makes sure of that.
func Abort(r *Record, who, reason string, force bool, now time.Time) error {
	if err := stopped(r, force); err != nil {
		return err
	}
	r.Aborted = &Decision{Who: who, At: now, Failure: r.Error, Reason: reason, Force: force}
	r.Status, r.Closed = StatusAborted, &now
	return nil
}

// stopped refuses a decision on a run that is closed, or running (unless running is
// allowed).
func stopped(r *Record, running bool) error {
	switch r.Status {
	case StatusFailed:
		return nil
	case StatusRunning:
		if running {
			return nil
		}
		return fmt.Errorf("run %s of %s is %s, %w", r.ID, r.App, r.Status, ErrNotFailed)
	}
	return fmt.Errorf("run %s of %s: %w (%s)", r.ID, r.App, ErrRunClosed, r.Status)
}
