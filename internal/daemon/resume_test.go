package daemon_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

// failRun records a run of kind as failed at its first step, directly in etcd under
// the leader's token, as a leader whose step ran out of budget leaves it.
func failRun(t *testing.T, w *daemontest.World, kind runbook.Kind, from, to string) *runbook.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	etcd := w.Daemons["witness"].Client()
	tok, err := coord.Leader(ctx, etcd)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runbook.Launch(ctx, etcd, tok, kind, daemontest.App, from, to, "alice", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	runbook.Begin(rec, 0, tok.Rev, time.Now())
	runbook.Fail(rec, 0, errors.New("budget ran out"))
	if err := runbook.Save(ctx, etcd, tok, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// A failed run blocks the application until a person answers it at the leader:
// resumed, it runs to its end and moves the main name; aborted, it goes to the ledger
// as aborted without acting, and a new run can start.
func TestResumeAndAbortFailedRunsThroughAPI(t *testing.T) {
	w := daemontest.Start(t, 244, daemontest.Options{})
	leader, _ := w.WaitLeader(t, all...)
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	follower := "east"
	if leader == follower {
		follower = "west"
	}
	c := w.Client(t, leader)
	// The ledger names the token that decided, whatever the body says.
	bob := api.RunDecision{Who: "not-bob"}
	asBob, asCarol := w.ClientAs(t, leader, "bob", apitoken.Operate), w.ClientAs(t, leader, "carol", apitoken.Operate)
	var se *api.StatusError

	failed := failRun(t, w, runbook.Switchover, "east", "west")
	if r := w.Status(t, "witness").Apps[0].Run; r == nil || r.ID != failed.ID || r.Status != string(runbook.StatusFailed) {
		t.Fatalf("status's open run: %+v", r)
	}
	if _, err := c.StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "west", Who: "test"}); !errors.As(err, &se) || se.Code != 409 {
		t.Fatalf("a new run while a failed one is open: %v, want 409", err)
	}
	if _, err := w.Client(t, follower).ResumeRun(ctx, daemontest.App, failed.ID, bob); !errors.As(err, &se) || se.Code != 409 {
		t.Fatalf("resume at a follower: %v, want 409", err)
	}
	resumed, err := asBob.ResumeRun(ctx, daemontest.App, failed.ID, bob)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Status != runbook.StatusRunning || len(resumed.Resumes) != 1 {
		t.Fatalf("resumed: %+v", resumed)
	}
	coordtest.Eventually(t, 30*time.Second, "resumed run closed", func() bool {
		r, err := c.Run(ctx, daemontest.App, failed.ID)
		return err == nil && r.Status == runbook.StatusDone
	})
	waitAnswers(t, w, w.LBs["west"].IP(), all...)

	// A failover back that failed is aborted: it acted on nothing, west stays active.
	back := failRun(t, w, runbook.Failover, "west", "east")
	if _, err := w.Client(t, follower).AbortRun(ctx, daemontest.App, back.ID, bob); !errors.As(err, &se) || se.Code != 409 {
		t.Fatalf("abort at a follower: %v, want 409", err)
	}
	aborted, err := asCarol.AbortRun(ctx, daemontest.App, back.ID, api.RunDecision{Who: "not-carol", Reason: "east is being rebuilt"})
	if err != nil {
		t.Fatal(err)
	}
	if aborted.Status != runbook.StatusAborted || aborted.Aborted == nil || aborted.Aborted.Who != "carol" {
		t.Fatalf("aborted: %+v", aborted)
	}
	if _, err := c.ResumeRun(ctx, daemontest.App, back.ID, bob); !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("resume of an aborted run: %v, want 400", err)
	}
	hist, err := w.Client(t, "witness").History(ctx, daemontest.App)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if h := hist[0]; h.ID != failed.ID || h.Status != runbook.StatusDone || h.Who != "alice" || len(h.Resumes) != 1 || h.Resumes[0].Who != "bob" || h.Verified == nil {
		t.Fatalf("resumed run in the ledger: %+v", h)
	}
	if h := hist[1]; h.ID != back.ID || h.Status != runbook.StatusAborted || h.Aborted.Reason != "east is being rebuilt" || h.Verified != nil || h.RTO != 0 {
		t.Fatalf("aborted run in the ledger: %+v", h)
	}
	if r := w.Status(t, "witness").Apps[0].Run; r != nil {
		t.Fatalf("open run after the abort: %+v", r)
	}
	waitAnswers(t, w, w.LBs["west"].IP(), all...)

	// The application is free again: a person's switchover home runs to its end.
	rec, err := c.StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "east", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// Resuming it is refused: it is running (or, if it was quick, already closed).
	if _, err := c.ResumeRun(ctx, daemontest.App, rec.ID, bob); !errors.As(err, &se) || se.Code != 400 ||
		!(strings.Contains(se.Msg, "running, not failed") || strings.Contains(se.Msg, "closed")) {
		t.Fatalf("resume of a run that did not fail: %v, want 400", err)
	}
	coordtest.Eventually(t, 30*time.Second, "switchover home closed", func() bool {
		r, err := c.Run(ctx, daemontest.App, rec.ID)
		return err == nil && r.Status == runbook.StatusDone
	})
	waitAnswers(t, w, w.LBs["east"].IP(), all...)
}
