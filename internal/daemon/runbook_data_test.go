package daemon_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
)

// East's load balancer and primary both die: the leader fails over by itself, promotes
// west's standby through the data driver, and records the loss from the last primary
// position it had observed (nothing, here: the standby had caught up).
func TestAutomaticFailoverPromotesStandbyWhenRegionDies(t *testing.T) {
	pg := demotest.StartPG(t)
	standby := demotest.StartStandby(t, pg, false)
	w := daemontest.Start(t, 230, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		f.Applications[0].Spec.Policy.AutomaticFailover = &v1alpha1.AutomaticFailover{Enabled: true,
			Threshold: &metav1.Duration{Duration: time.Second}}
		withShopDB(t, f, dir,
			v1alpha1.Member{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}},
			v1alpha1.Member{Name: "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, Address: v1alpha1.Endpoint{Address: standby.Addr}})
	}})
	leader, _ := w.WaitLeader(t, all...)
	coordtest.Eventually(t, 30*time.Second, "data observed with east-0 primary", func() bool {
		st := w.Status(t, leader)
		return st.Apps[0].Data != nil && st.Apps[0].Data.Primary == "east-0" && st.Apps[0].Verdicts["east"] == "up"
	})
	pg.Exec(t, "CREATE TABLE seq (n bigint)", "INSERT INTO seq SELECT generate_series(1, 100)")
	standby.Poll(t, "SELECT count(*)::text FROM seq", "100")
	// The leader observes the set every 5 s: wait until it has seen the last position.
	coordtest.Eventually(t, 30*time.Second, "west-0 caught up as the daemon sees it", func() bool {
		ds := w.Status(t, leader).Apps[0].Data
		for _, m := range ds.Members {
			if m.Name == "west-0" && m.State == "streaming" && m.LagBytes == 0 {
				return true
			}
		}
		return false
	})

	pg.Kill(t)
	w.LBs["east"].Stop()
	c := w.Client(t, leader)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var hist []runbook.Record
	coordtest.Eventually(t, 45*time.Second, "automatic failover in the ledger", func() bool {
		var err error
		hist, err = c.History(ctx, daemontest.App)
		return err == nil && len(hist) == 1
	})
	h := hist[0]
	if h.Who != "auto" || h.Promoted != "west-0" || h.Status != runbook.StatusDone || h.RPO == nil {
		t.Fatalf("ledger: %+v", h)
	}
	if h.RPO.Bytes < 0 {
		t.Fatalf("RPO unknown although the daemon had observed the primary: %+v", *h.RPO)
	}
	standby.Poll(t, "SELECT pg_is_in_recovery()::text", "false")
	for _, s := range h.Steps {
		t.Logf("%-10s %8s  %s", s.Name, s.Ended.Sub(*s.Started).Round(time.Millisecond), s.Detail)
	}
	t.Logf("decision → verified %s; down verdict → verified %s; RPO %+v", h.RTO, h.SystemRTO, *h.RPO)
}
