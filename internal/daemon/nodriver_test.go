package daemon_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
)

// No daemon can read the mirror set's password when it starts. The leader says so in
// status, holds the automatic failover when east dies instead of running one that
// would fence and promote nothing, and a failover asked of it stops at fence with a
// permanent error naming the daemon, the set and the missing file — DNS unmoved, west-0
// still a standby. Once east's daemon restarts with the password, it is the only one
// that can act: the leadership goes to it and it resumes the stopped run to the end.
func TestLeaderWithoutDataDriverFailsDataStepsAndHandsOver(t *testing.T) {
	pg := demotest.StartPG(t)
	standby := demotest.StartStandby(t, pg, false)
	var pwFile string
	w := daemontest.Start(t, 236, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		pwFile = filepath.Join(dir, "pg-password") // not written yet
		f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: "shop-db"}
		f.Applications[0].Spec.Policy.AutomaticFailover = &v1alpha1.AutomaticFailover{Enabled: true,
			Threshold: &metav1.Duration{Duration: time.Second}}
		f.MirrorSets = []*v1alpha1.MirrorSet{{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
			Spec: v1alpha1.MirrorSetSpec{
				Engine:      v1alpha1.EnginePostgres,
				Credentials: &v1alpha1.Credentials{User: "postgres", PasswordFrom: &v1alpha1.SecretRef{File: "pg-password"}},
				Members: []v1alpha1.Member{
					{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}},
					{Name: "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, Address: v1alpha1.Endpoint{Address: standby.Addr}},
				},
			},
		}}
	}})
	w.WaitLeader(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	coordtest.Eventually(t, 30*time.Second, "every daemon's missing driver in the witness's status", func() bool {
		ca := w.Status(t, "witness").CannotAct
		for _, s := range all {
			if why := ca[s]["shop-db"]; !strings.Contains(why, pwFile) || !strings.Contains(why, "no such file or directory") {
				return false
			}
		}
		return true
	})
	coordtest.Eventually(t, 30*time.Second, "east up by quorum", func() bool {
		return w.Status(t, "witness").Apps[0].Verdicts["east"] == "up"
	})

	// East dies. The leader's decision to fail over is held, and said.
	w.LBs["east"].Stop()
	var leader, held string
	coordtest.Eventually(t, 30*time.Second, "the leader holds the automatic failover", func() bool {
		for _, s := range all {
			st := w.Status(t, s)
			if st.Leader == s && st.Apps[0].AutoFailoverHeld != "" {
				leader, held = s, st.Apps[0].AutoFailoverHeld
				return true
			}
		}
		return false
	})
	if want := "daemon " + leader + " cannot act on mirror set shop-db: "; !strings.HasPrefix(held, want) ||
		!strings.Contains(held, "no daemon that can act on it is alive") {
		t.Fatalf("held: %q, want %q… and that no capable daemon is alive", held, want)
	}
	c := w.Client(t, leader)
	if hist, err := c.History(ctx, daemontest.App); err != nil || len(hist) != 0 {
		t.Fatalf("history while held: %+v %v", hist, err)
	}
	if run := w.Status(t, leader).Apps[0].Run; run != nil {
		t.Fatalf("a run was started by a leader that cannot act on the data: %+v", run)
	}

	// A failover asked of it fails at fence, once, with the named error.
	rec, err := c.StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Failover, To: "west", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var failed *runbook.Record
	coordtest.Eventually(t, 30*time.Second, "the run stops failed", func() bool {
		failed, err = c.Run(ctx, daemontest.App, rec.ID)
		return err == nil && failed.Status == runbook.StatusFailed
	})
	fence := failed.Steps[0]
	want := "daemon " + leader + " cannot act on mirror set shop-db: "
	if fence.Name != runbook.StepFence || fence.Attempt != 1 || !strings.HasPrefix(fence.Error, want) ||
		!strings.Contains(fence.Error, pwFile) || strings.Contains(fence.Error, "no mirror set") {
		t.Fatalf("fence step %+v: want one attempt failing with %q… naming %s", fence, want, pwFile)
	}
	if active := w.Status(t, leader).Apps[0].Active; active != "east" {
		t.Fatalf("DNS moved to %s by a run that fenced nothing", active)
	}
	standby.Poll(t, "SELECT pg_is_in_recovery()::text", "true")

	// East's daemon comes back able to read the password: the only capable daemon.
	if err := os.WriteFile(pwFile, []byte(demotest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Restart(t, "east")
	coordtest.Eventually(t, 60*time.Second, "east leads", func() bool {
		st := w.Status(t, "witness")
		_, incapable := st.CannotAct["east"]
		return st.Leader == "east" && !incapable
	})
	var done *runbook.Record
	coordtest.Eventually(t, 60*time.Second, "east finishes the stopped run", func() bool {
		hist, err := w.Client(t, "east").History(ctx, daemontest.App)
		if err != nil || len(hist) != 1 {
			return false
		}
		done = &hist[0]
		return true
	})
	if done.ID != rec.ID || done.Status != runbook.StatusDone || done.Promoted != "west-0" || len(done.Tokens) < 2 {
		t.Fatalf("ledger: %+v", done)
	}
	standby.Poll(t, "SELECT pg_is_in_recovery()::text", "false")
	b, err := json.Marshal(w.Status(t, "west"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), demotest.Password) {
		t.Fatalf("status shows the password: %s", b)
	}
}
