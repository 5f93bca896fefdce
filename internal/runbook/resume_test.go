package runbook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/runbook"
)

// A leader that dies after a step's work but before recording it leaves the run open;
// the next leader, with a higher token, resumes at that step, finishes the run and
// closes it into the ledger, while every write under the old token is refused.
func TestNewLeaderResumesAtFirstUnfinishedStep(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(224))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	east, west := members[0], members[1]

	electA := coord.NewElector(east.Client, "east", 10*time.Second)
	tokA, err := electA.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runbook.Launch(ctx, east.Client, tokA, runbook.Failover, "shop", "east", "west", "alice", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runbook.Launch(ctx, east.Client, tokA, runbook.Failover, "shop", "east", "west", "bob", true, time.Now()); !errors.Is(err, runbook.ErrRunOpen) {
		t.Fatalf("second open run: %v, want ErrRunOpen", err)
	}

	// Leader A does the activate step's work, then loses its leadership before the
	// step's end is recorded.
	activations := map[int64]int{}
	engine := func(c *coordtest.Member, onActivate func()) *runbook.Engine {
		env := &runbook.Env{Client: c.Client}
		steps := env.Steps()
		act := steps[runbook.StepActivate]
		act.Do = func(ctx context.Context, tok coord.Token, r *runbook.Record) (string, error) {
			activations[tok.Rev]++
			if onActivate != nil {
				onActivate()
			}
			return "scaled", nil
		}
		steps[runbook.StepActivate] = act
		return &runbook.Engine{Client: c.Client, Steps: steps, Budget: 20 * time.Second}
	}
	errA := engine(east, func() {
		if err := electA.Resign(ctx); err != nil {
			t.Error(err)
		}
	}).Run(ctx, tokA, rec)
	if !coord.IsFenced(errA) {
		t.Fatalf("deposed leader's run: %v, want ErrFenced", errA)
	}

	stored, err := runbook.Open(ctx, west.Client, "shop")
	if err != nil || stored == nil {
		t.Fatalf("open run after the leader died: %v %v", stored, err)
	}
	i, more := runbook.Next(stored)
	if !more || stored.Steps[i].Name != runbook.StepActivate || stored.Steps[i].Started == nil {
		t.Fatalf("stored run resumes at %d (%+v), want the started activate step", i, stored.Steps)
	}

	electB := coord.NewElector(west.Client, "west", 10*time.Second)
	tokB, err := electB.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer electB.Resign(context.Background())
	if tokB.Rev <= tokA.Rev {
		t.Fatalf("new token %d not above old %d", tokB.Rev, tokA.Rev)
	}
	if err := engine(west, nil).Run(ctx, tokB, stored); err != nil {
		t.Fatal(err)
	}

	// The old token can change nothing any more: not the record, not DNS.
	if err := runbook.Save(ctx, east.Client, tokA, stored); !coord.IsFenced(err) {
		t.Fatalf("save with the old token: %v, want ErrFenced", err)
	}
	if _, err := runbook.Launch(ctx, east.Client, tokA, runbook.Failover, "shop", "west", "east", "mallory", true, time.Now()); !coord.IsFenced(err) {
		t.Fatalf("launch with the old token: %v, want ErrFenced", err)
	}

	if open, err := runbook.Open(ctx, west.Client, "shop"); err != nil || open != nil {
		t.Fatalf("run still open: %+v %v", open, err)
	}
	hist, err := runbook.History(ctx, members[2].Client, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %d runs, %v", len(hist), err)
	}
	h := hist[0]
	if h.Status != runbook.StatusDone || len(h.Tokens) != 2 || h.Tokens[0] != tokA.Rev || h.Tokens[1] != tokB.Rev {
		t.Fatalf("ledger: status %s tokens %v", h.Status, h.Tokens)
	}
	for _, s := range h.Steps {
		want := tokA.Rev
		if s.Name != runbook.StepFence && s.Name != runbook.StepPromote {
			want = tokB.Rev
		}
		if s.Ended == nil || s.Token != want {
			t.Errorf("step %s ended %v under %d, want %d", s.Name, s.Ended, s.Token, want)
		}
	}
	if activations[tokA.Rev] != 1 || activations[tokB.Rev] != 1 {
		t.Errorf("activations %v: want one by each leader", activations)
	}
	if h.Verified == nil || h.RTO <= 0 || h.Who != "alice" {
		t.Errorf("ledger: verified %v rto %s who %s", h.Verified, h.RTO, h.Who)
	}
	got, err := west.Client.Get(ctx, coord.ActiveKey("shop"))
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "west" {
		t.Fatalf("active site: %v %v", got, err)
	}
}
