package daemon_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

// The dashboard is served by every daemon, and its Resume and Abort work from any of
// them: pressed at a follower, the abort is carried out by the leader with the
// caller's own token, so the ledger names the caller; a read token is refused at the
// follower by the role table before anything is forwarded.
func TestDashboardAbortAtAFollowerGoesToTheLeader(t *testing.T) {
	w := daemontest.Start(t, 190, daemontest.Options{})
	leader, _ := w.WaitLeader(t, all...)
	follower := "east"
	if leader == follower {
		follower = "west"
	}
	failed := failRun(t, w, runbook.Switchover, "east", "west")
	ops := w.ClientAs(t, follower, "ops", apitoken.Operate)
	viewer := w.ClientAs(t, follower, "viewer", apitoken.Read)
	abort := func(secret string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "https://"+ops.Addr+"/ui/runs/"+daemontest.App+"/"+failed.ID+"/abort",
			strings.NewReader(`{"reason":"from the dashboard"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: ops.TLS}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, msg := abort(viewer.Token); code != http.StatusForbidden || !strings.Contains(msg, "needs role operate") {
		t.Fatalf("a read token's abort at %s: HTTP %d %s, want 403", follower, code, msg)
	}
	if code, msg := abort(ops.Token); code != http.StatusOK {
		t.Fatalf("an operate token's abort at the follower %s: HTTP %d %s", follower, code, msg)
	}
	coordtest.Eventually(t, 30*time.Second, "the aborted run in the ledger", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rec, err := w.Client(t, leader).Run(ctx, daemontest.App, failed.ID)
		return err == nil && rec.Status == runbook.StatusAborted && rec.Aborted != nil &&
			rec.Aborted.Who == "ops" && rec.Aborted.Reason == "from the dashboard"
	})
}
