package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

// A daemon that died while failing a site leaves its failure as its last word. When
// the site has been healthy by quorum since and fails again, the failover's first
// failed probe is this outage's, not the dead daemon's old one: the system RTO
// counts from the new fault.
func TestFirstFailedProbeIsThisOutagesNotADeadObserversOld(t *testing.T) {
	w := daemontest.Start(t, 235, daemontest.Options{})
	w.WaitLeader(t, all...)
	verdict := func(site string) string { return w.Status(t, "witness").Apps[0].Verdicts[site] }
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool { return verdict("east") == "up" && verdict("west") == "up" })

	// east's daemon sees its own site fail, then dies.
	w.LBs["east"].Stop()
	for _, s := range []string{"west", "witness"} {
		coordtest.Eventually(t, 30*time.Second, s+" knows east's daemon fails east", func() bool {
			ob := w.Status(t, s).Apps[0].Observations["east"]["east"]
			return !ob.OK && !ob.At.IsZero()
		})
	}
	w.Daemons["east"].Stop()

	// The site comes back and the quorum (west, witness) finds it up.
	restarted := time.Now()
	w.LBs["east"].Restart(t)
	coordtest.Eventually(t, 30*time.Second, "east up by quorum again", func() bool { return verdict("east") == "up" })

	// A new outage; the failover's first failed probe is at or after the restart.
	w.LBs["east"].Stop()
	coordtest.Eventually(t, 30*time.Second, "east down by quorum", func() bool { return verdict("east") == "down" })
	leader, _ := w.WaitLeader(t, "west", "witness")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Under load an observer's probe can go stale between the witness's look and the
	// leader's decision (the leader then finds east unknown and refuses): ask again.
	var rec *runbook.Record
	var err error
	coordtest.Eventually(t, 30*time.Second, "the leader accepts the failover", func() bool {
		rec, err = w.Client(t, leader).StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Failover, To: "west", Who: "test"})
		if err != nil && !strings.Contains(err.Error(), "not down") {
			t.Fatal(err)
		}
		return err == nil
	})
	if rec.FirstFailedProbe == nil || rec.FirstFailedProbe.Before(restarted) {
		t.Fatalf("first failed probe %v: before east came back at %s (a dead daemon's old failure)", rec.FirstFailedProbe, restarted.Format(time.RFC3339Nano))
	}
}
