package runbook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/runbook"
)

// leading starts a real etcd cluster on net and returns a client and a leader's token.
func leading(t *testing.T, net int) (context.Context, *clientv3.Client, coord.Token) {
	t.Helper()
	_, members := coordtest.StartCluster(t, coordtest.Fleet(net))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := members[0].Client
	el := coord.NewElector(c, "east", 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { el.Resign(context.Background()) })
	return ctx, c, tok
}

// failingActivate is an engine whose activate step fails permanently the first fails
// times it is asked, then succeeds.
func failingActivate(c *clientv3.Client, fails int) *runbook.Engine {
	steps := (&runbook.Env{Client: c}).Steps()
	act := steps[runbook.StepActivate]
	act.Do = func(context.Context, coord.Token, *runbook.Record) (string, error) {
		if fails > 0 {
			fails--
			return "", retry.Permanent("site east unreachable")
		}
		return "scaled", nil
	}
	steps[runbook.StepActivate] = act
	return &runbook.Engine{Client: c, Steps: steps, Budget: 20 * time.Second}
}

// failedRun launches a failover of app and runs it until activate fails.
func failedRun(t *testing.T, ctx context.Context, c *clientv3.Client, tok coord.Token, eng *runbook.Engine, app string) *runbook.Record {
	t.Helper()
	rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, app, "east", "west", "alice", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(ctx, tok, rec); err == nil {
		t.Fatal("run with a failing activate step succeeded")
	}
	open, err := runbook.Open(ctx, c, app)
	if err != nil || open == nil || open.ID != rec.ID || open.Status != runbook.StatusFailed {
		t.Fatalf("open run after the failure: %+v %v", open, err)
	}
	if _, err := runbook.Launch(ctx, c, tok, runbook.Failover, app, "east", "west", "bob", true, time.Now()); !errors.Is(err, runbook.ErrRunOpen) {
		t.Fatalf("a new run while the failed one is open: %v, want ErrRunOpen", err)
	}
	return open
}

// A failed run stays open until a person resumes it; the failed step is asked again,
// the run finishes into the ledger with the resumer recorded, and a stale copy of the
// failed record can no longer be written.
func TestResumeRunFinishesAFailedRun(t *testing.T) {
	ctx, c, tok := leading(t, 241)
	eng := failingActivate(c, 1)
	failed := failedRun(t, ctx, c, tok, eng, "shop")
	if _, err := runbook.AbortRun(ctx, c, tok, "shop", "nope", "carol", "", false, time.Now()); !errors.Is(err, runbook.ErrNoRun) {
		t.Fatalf("abort of an unknown run: %v, want ErrNoRun", err)
	}
	if _, err := runbook.ResumeRun(ctx, c, coord.Token{Key: tok.Key, Rev: tok.Rev - 1}, "shop", failed.ID, "bob", false, time.Now()); !coord.IsFenced(err) {
		t.Fatalf("resume under a stale token: %v, want ErrFenced", err)
	}

	rec, err := runbook.ResumeRun(ctx, c, tok, "shop", failed.ID, "bob", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != runbook.StatusRunning || rec.Error != "" || len(rec.Resumes) != 1 || rec.Resumes[0].Who != "bob" {
		t.Fatalf("resumed record: %+v", rec)
	}
	if _, err := runbook.ResumeRun(ctx, c, tok, "shop", failed.ID, "dave", false, time.Now()); !errors.Is(err, runbook.ErrNotFailed) {
		t.Fatalf("second resume of a running run: %v, want ErrNotFailed", err)
	}
	if err := eng.Run(ctx, tok, rec); err != nil {
		t.Fatal(err)
	}

	if open, err := runbook.Open(ctx, c, "shop"); err != nil || open != nil {
		t.Fatalf("run still open: %+v %v", open, err)
	}
	if err := runbook.Save(ctx, c, tok, failed); !errors.Is(err, runbook.ErrRunClosed) {
		t.Fatalf("save of a stale copy after the close: %v, want ErrRunClosed", err)
	}
	hist, err := runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	h := hist[0]
	if h.Status != runbook.StatusDone || h.Who != "alice" || len(h.Resumes) != 1 || h.Resumes[0].Failure == "" || h.Verified == nil {
		t.Fatalf("ledger: %+v", h)
	}
	for _, s := range h.Steps {
		want := 1
		if s.Name == runbook.StepActivate {
			want = 2
		}
		if s.Ended == nil || s.Attempt != want || s.Error != "" {
			t.Errorf("step %s: ended %v, attempt %d (want %d), error %q", s.Name, s.Ended, s.Attempt, want, s.Error)
		}
	}
}

// An aborted run goes to the ledger as aborted, with who and why, and runs nothing
// more: what its steps did stays recorded, no verification is claimed, and the
// application is free for a new run. A run marked running is aborted only with force.
func TestAbortRunClosesWithoutRunning(t *testing.T) {
	ctx, c, tok := leading(t, 242)
	eng := failingActivate(c, 1)
	failed := failedRun(t, ctx, c, tok, eng, "shop")

	rec, err := runbook.AbortRun(ctx, c, tok, "shop", failed.ID, "carol", "east rebuilt by hand", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != runbook.StatusAborted || rec.Aborted == nil || rec.Aborted.Reason != "east rebuilt by hand" {
		t.Fatalf("aborted record: %+v", rec)
	}
	for _, again := range []func() error{
		func() error {
			_, err := runbook.AbortRun(ctx, c, tok, "shop", failed.ID, "carol", "", false, time.Now())
			return err
		},
		func() error {
			_, err := runbook.ResumeRun(ctx, c, tok, "shop", failed.ID, "bob", true, time.Now())
			return err
		},
		func() error { return runbook.Save(ctx, c, tok, failed) },
	} {
		if err := again(); !errors.Is(err, runbook.ErrRunClosed) {
			t.Fatalf("a change to the aborted run: %v, want ErrRunClosed", err)
		}
	}
	hist, err := runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	h := hist[0]
	if h.Status != runbook.StatusAborted || h.Aborted == nil || h.Aborted.Who != "carol" || h.Verified != nil || h.RTO != 0 {
		t.Fatalf("ledger: %+v", h)
	}
	if s := h.Steps[0]; s.Name != runbook.StepFence || s.Ended == nil {
		t.Fatalf("the fence step's record is lost: %+v", s)
	}
	if s := h.Steps[2]; s.Name != runbook.StepActivate || s.Ended != nil || s.Error == "" {
		t.Fatalf("the failed step's record: %+v", s)
	}

	// The application is free: a new run starts. Recorded but not executed, it is
	// marked running, so only a forced abort closes it.
	next, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop", "east", "west", "bob", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runbook.AbortRun(ctx, c, tok, "shop", next.ID, "carol", "", false, time.Now()); !errors.Is(err, runbook.ErrNotFailed) {
		t.Fatalf("abort of a running run: %v, want ErrNotFailed", err)
	}
	if _, err := runbook.AbortRun(ctx, c, tok, "shop", next.ID, "carol", "never executed", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if hist, err := runbook.History(ctx, c, "shop"); err != nil || len(hist) != 2 || hist[1].Status != runbook.StatusAborted || !hist[1].Aborted.Force {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if open, err := runbook.Open(ctx, c, "shop"); err != nil || open != nil {
		t.Fatalf("run still open: %+v %v", open, err)
	}
}
