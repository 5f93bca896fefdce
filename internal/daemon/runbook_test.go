package daemon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
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

	// Any daemon previews a run (--dry-run) from what it observes, starting nothing.
	p, err := w.Client(t, follower).PreviewRun(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.From != "east" || len(p.Steps) != 9 || !slices.Contains(p.Notes, "quorum: east up, west up") ||
		p.Steps[0].Name != runbook.StepReady || p.Steps[0].Would != "no mirror set" ||
		p.Steps[6].Would != "active site east → west" && p.Steps[6].Would != "active site not set (the policy's active site) → west" {
		t.Fatalf("preview:\n%s", p)
	}
	if p, err := w.Client(t, follower).PreviewRun(ctx, fo); err != nil || !strings.Contains(strings.Join(p.Notes, "\n"), "refused as asked: the quorum finds east up, not down") {
		t.Fatalf("preview of an unforced failover of a healthy site: %v, %v", p, err)
	}
	if r := w.Status(t, leader).Apps[0].Run; r != nil {
		t.Fatalf("a preview opened a run: %+v", r)
	}

	// A read token sees but may not act; the run is recorded as the operate token's.
	viewer := w.ClientAs(t, leader, "viewer", apitoken.Read)
	if _, err := viewer.StartRun(ctx, req); !errors.As(err, &se) || se.Code != 403 ||
		se.Msg != `forbidden: POST /v1/runbooks needs role operate; token "viewer" has read` {
		t.Fatalf("start with a read token: %v, want 403 naming the role", err)
	}
	if _, err := viewer.Status(ctx); err != nil {
		t.Fatalf("status with a read token: %v", err)
	}
	c := w.ClientAs(t, leader, "ops", apitoken.Operate)
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
	m := scrape(t, c)
	for _, want := range []string{`hadron_runbook_runs_total{app="shop",kind="switchover",status="done"} 1`,
		`hadron_runbook_step_seconds_count{kind="switchover",step="dns"} 1`, `hadron_runbook_rto_seconds_count{app="shop",kind="switchover",system="false"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("the leader's metrics lack %s", want)
		}
	}
	hist, err := w.Client(t, "witness").History(ctx, daemontest.App)
	if err != nil || len(hist) != 1 || hist[0].ID != rec.ID || hist[0].Who != "ops" || hist[0].Verified == nil {
		t.Fatalf("history: %+v %v", hist, err)
	}
	for _, s := range hist[0].Steps {
		// A majority suffices: the third name server's answer may not be awaited.
		if s.Name == runbook.StepVerify && !strings.Contains(s.Detail, "answers west at 3/3 name servers (needs 2)") &&
			!strings.Contains(s.Detail, "answers west at 2/3 name servers (needs 2)") {
			t.Errorf("verify did not check the main name at a majority of the name servers: %q", s.Detail)
		}
	}

	// A run recorded but not executed (as after a leader's crash, before the next
	// election) shows in status and holds off another run of the application.
	etcd := w.Daemons["witness"].Client()
	tok, err := coord.Leader(ctx, etcd)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := runbook.Launch(ctx, etcd, tok, runbook.Failover, daemontest.App, "west", "east", "test", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st := w.Status(t, "witness")
	if r := st.Apps[0].Run; r == nil || r.ID != pending.ID || r.Step != 1 || r.StepName != runbook.StepFence {
		t.Fatalf("status's open run: %+v", r)
	}
	back := req
	back.To = "east"
	if _, err := c.StartRun(ctx, back); !errors.As(err, &se) || se.Code != 409 {
		t.Fatalf("a second run while one is open: %v, want 409", err)
	}
}

// With automatic failover on, losing the active site's load balancer makes the leader
// fail over by itself once the quorum has found it down for the threshold; the ledger
// records the decision as automatic, with the time from the first down verdict.
func TestAutomaticFailoverWhenActiveSiteDown(t *testing.T) {
	w := daemontest.Start(t, 229, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
		f.Applications[0].Spec.Policy.AutomaticFailover = &v1alpha1.AutomaticFailover{Enabled: true,
			Threshold: &metav1.Duration{Duration: time.Second}, MinInterval: &metav1.Duration{Duration: time.Hour}}
	}})
	leader, _ := w.WaitLeader(t, all...)
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := w.Client(t, leader)
	if h, err := c.History(ctx, daemontest.App); err != nil || len(h) != 0 {
		t.Fatalf("history before the fault: %+v %v", h, err)
	}

	w.LBs["east"].Stop()
	var hist []runbook.Record
	coordtest.Eventually(t, 30*time.Second, "automatic failover in the ledger", func() bool {
		var err error
		hist, err = c.History(ctx, daemontest.App)
		return err == nil && len(hist) == 1
	})
	h := hist[0]
	if h.Who != "auto" || h.Kind != runbook.Failover || h.From != "east" || h.To != "west" || h.Status != runbook.StatusDone {
		t.Fatalf("ledger: %+v", h)
	}
	if h.FirstFailedProbe == nil || h.SystemRTO < h.RTO || h.Verified == nil {
		t.Fatalf("ledger RTO: first failed %v, RTO %s, system RTO %s", h.FirstFailedProbe, h.RTO, h.SystemRTO)
	}
	waitAnswers(t, w, w.LBs["west"].IP(), all...)
	for _, s := range h.Steps {
		t.Logf("%-10s %8s  %s", s.Name, s.Ended.Sub(*s.Started).Round(time.Millisecond), s.Detail)
	}
	t.Logf("decision → verified %s; down verdict → verified %s", h.RTO, h.SystemRTO)
}

// scrape returns a daemon's /metrics page.
func scrape(t *testing.T, c *api.Client) string {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.TLS}}
	req, err := http.NewRequest(http.MethodGet, "https://"+c.Addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
