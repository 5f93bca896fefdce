package runbook

import (
	"context"
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

func TestAutoLossAllowed(t *testing.T) {
	limit := int64(1024)
	zero := int64(0)
	tests := []struct {
		name  string
		rec   Record
		flush data.LSN
		limit *int64
		ok    bool
	}{
		{"a person is not bounded", Record{Who: "alice", LastFlush: 1 << 20}, 0, &zero, true},
		{"forced is not bounded", Record{Who: "auto", Force: true, LastFlush: 1 << 20}, 0, &zero, true},
		{"no bound", Record{Who: "auto", LastFlush: 1 << 20}, 0, nil, true},
		{"within the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 5000}, 4000, &limit, true},
		{"at the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 5024}, 4000, &limit, true},
		{"above the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 6000}, 4000, &limit, false},
		{"zero bound, nothing lost", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 4000}, 4000, &zero, true},
		{"unknown loss", Record{Who: "auto"}, 4000, &limit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := autoLossAllowed(&tt.rec, tt.flush, tt.limit)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			var perm *retry.PermanentError
			if err != nil && (!errors.Is(err, ErrLossBound) || !errors.As(err, &perm)) {
				t.Fatalf("err %v: want a permanent ErrLossBound", err)
			}
		})
	}
}

// standby-old of a planned move lets the old site serve until the DNS TTL has passed
// since the dns step, counting from the record (so a resumed run waits only the rest).
func TestDrainWaitsOutTheTTLSinceTheDNSStep(t *testing.T) {
	env := &Env{Drain: time.Hour}
	rec := func(dnsEnded time.Time) *Record {
		return &Record{Steps: []StepRecord{{Name: StepActivate, Ended: &dnsEnded}, {Name: StepDNS, Ended: &dnsEnded}, {Name: StepStandbyOld}}}
	}
	if w, err := env.drain(context.Background(), rec(time.Now().Add(-2*time.Hour))); w != 0 || err != nil {
		t.Fatalf("TTL long past: waited %v, %v", w, err)
	}
	if w, err := env.drain(context.Background(), &Record{Steps: []StepRecord{{Name: StepStandbyOld}}}); w != 0 || err != nil {
		t.Fatalf("no dns step: waited %v, %v", w, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := env.drain(ctx, rec(time.Now())); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a whole TTL ahead: %v, want the run's context to end the wait", err)
	}
	env.Drain = 200 * time.Millisecond
	w, err := env.drain(context.Background(), rec(time.Now().Add(-100*time.Millisecond)))
	if err != nil || w <= 0 || w > 100*time.Millisecond {
		t.Fatalf("half the TTL left: waited %v, %v; want what was left of it", w, err)
	}
	if w, _ := (&Env{}).drain(context.Background(), rec(time.Now())); w != 0 {
		t.Fatalf("no drain configured: waited %v", w)
	}
}
