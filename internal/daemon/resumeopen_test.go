package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/runbook"
)

// A new leader that cannot read the open runs at first (its etcd member cut off from
// the others, as when a lost majority is why the leadership moved) keeps trying and
// resumes the run once it can read it. A drill bench (2026-12-07) left a switchover open at its
// last step for good: the one read failed, and the run was never read again.
func TestNewLeaderResumesOpenRunsOnceEtcdAnswers(t *testing.T) {
	f := coordtest.Fleet(253)
	links := coordtest.WithLinks(t, f, 253)
	_, members := coordtest.StartCluster(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	east, west := members[0], members[1]

	el := coord.NewElector(west.Client, "west", 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Resign(context.Background())
	rec, err := runbook.Launch(ctx, west.Client, tok, runbook.Switchover, "shop", "east", "west", "alice", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	links.Cut(east.Name)
	resumed := make(chan *runbook.Record, 4)
	r := &runbooks{client: east.Client, log: slog.New(slog.DiscardHandler),
		resumed: func(_ context.Context, _ coord.Token, rec *runbook.Record) { resumed <- rec }}
	tries := make(chan struct{})
	go func() {
		defer close(tries)
		r.resumeOpen(ctx, tok)
	}()
	// East's member has no majority: every read fails after its 5 s bound.
	select {
	case got := <-resumed:
		t.Fatalf("resumed %s through a member without a majority", got.ID)
	case <-tries:
		t.Fatal("gave up after a failed read, leaving the run open")
	case <-time.After(7 * time.Second):
	}
	links.Heal(t, east.Name)
	select {
	case got := <-resumed:
		if got.ID != rec.ID || got.Status != runbook.StatusRunning {
			t.Fatalf("resumed %s (%s), want %s running", got.ID, got.Status, rec.ID)
		}
	case <-ctx.Done():
		t.Fatal("the run was not resumed after etcd answered again")
	}
	<-tries // and resumeOpen is done: every open run was read
	select {
	case got := <-resumed:
		t.Fatalf("resumed twice: %s", got.ID)
	default:
	}
}
