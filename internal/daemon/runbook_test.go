package daemon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

// A switchover asked through the API runs at the leader only, moves the main name to
// the target on every daemon and leaves its record in the ledger.
func TestSwitchoverThroughAPIMovesDNSAndRecordsLedger(t *testing.T) {
	w := daemontest.Start(t, 227, daemontest.Options{})
	leader, _ := w.WaitLeader(t, all...)
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
	waitAnswers(t, w, east, all...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	follower := "east"
	if leader == follower {
		follower = "west"
	}
	req := api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "west", Who: "test"}
	var se *api.StatusError
	if _, err := w.Client(t, follower).StartRun(ctx, req); !errors.As(err, &se) || se.Code != 409 {
		t.Fatalf("start at a follower: %v, want 409", err)
	}
	fo := req
	fo.Kind = runbook.Failover
	if _, err := w.Client(t, leader).StartRun(ctx, fo); !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("unforced failover of a healthy site: %v, want 400", err)
	}

	c := w.Client(t, leader)
	rec, err := c.StartRun(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rec.From != "east" || rec.To != "west" || len(rec.Steps) == 0 {
		t.Fatalf("started run %+v", rec)
	}
	coordtest.Eventually(t, 30*time.Second, "run closed", func() bool {
		r, err := c.Run(ctx, daemontest.App, rec.ID)
		return err == nil && r.Status == runbook.StatusDone
	})
	waitAnswers(t, w, west, all...)
	hist, err := w.Client(t, "witness").History(ctx, daemontest.App)
	if err != nil || len(hist) != 1 || hist[0].ID != rec.ID || hist[0].Who != "test" || hist[0].Verified == nil {
		t.Fatalf("history: %+v %v", hist, err)
	}
}
