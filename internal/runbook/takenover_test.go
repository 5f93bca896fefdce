package runbook

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestTakenOver: a new leader continues a run whose leader died while it ran and a run
// stopped because its daemon could not act on the mirror set; any other failed run —
// a step out of budget, a loss bound — waits for a person, whoever leads next.
func TestTakenOver(t *testing.T) {
	noDriver := &NoDriverError{Daemon: "west", Set: "shop-db", Err: errors.New("password not available")}
	for _, tc := range []struct {
		name string
		fail error // nil: the run is still running
		want bool
	}{
		{name: "running: its leader died", want: true},
		{name: "failed: this daemon could not act on the set", fail: noDriver, want: true},
		{name: "failed: wrapped no-driver error", fail: fmt.Errorf("fence: %w", noDriver), want: true},
		{name: "failed: a step's budget ran out", fail: errors.New("budget ran out")},
		{name: "failed: the automatic loss bound", fail: fmt.Errorf("promote: %w", ErrLossBound)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecord("r1", "shop", Failover, "east", "west", "auto", time.Now(), []string{"fence", "promote"})
			Begin(r, 0, 7, time.Now())
			if tc.fail != nil {
				Fail(r, 0, tc.fail)
			}
			if got := TakenOver(r); got != tc.want {
				t.Fatalf("TakenOver = %v, want %v (status %s, forAnotherLeader %v)", got, tc.want, r.Status, r.ForAnotherLeader)
			}
			if tc.fail != nil {
				// A person's resume makes it an ordinary running run again.
				if err := Retry(r, "ops", true, time.Now()); err != nil {
					t.Fatal(err)
				}
				if r.ForAnotherLeader || !TakenOver(r) {
					t.Fatalf("after a resume: forAnotherLeader %v, taken over %v", r.ForAnotherLeader, TakenOver(r))
				}
			}
		})
	}
}
