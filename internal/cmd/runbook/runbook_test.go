package runbook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

func run(t *testing.T, cmd *cobra.Command, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%s %s: %v\n%s", cmd.Name(), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestSwitchoverAndHistoryAgainstDaemons(t *testing.T) {
	w := daemontest.Start(t, 228, daemontest.Options{})
	w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "verdicts published", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	base := []string{"-f", w.FleetFile, "--pki", w.PKI.Dir}

	dry := run(t, Switchover(), append([]string{daemontest.App, "--to", "west", "--dry-run"}, base...)...)
	if !strings.Contains(dry, "switchover of shop: east → west") || !strings.Contains(dry, "8. standby-old") {
		t.Fatalf("dry run:\n%s", dry)
	}
	if h := run(t, History(), base...); !strings.Contains(h, "no runs in the ledger") {
		t.Fatalf("dry run left a record:\n%s", h)
	}

	out := run(t, Switchover(), append([]string{daemontest.App, "--to", "west", "--who", "ops"}, base...)...)
	for _, want := range []string{"run ", "1. ready", "6. dns", "8. standby-old", "switchover of shop east → west: done", "RTO (decision → verified)"} {
		if !strings.Contains(out, want) {
			t.Errorf("switchover output lacks %q:\n%s", want, out)
		}
	}
	var recs []runbook.Record
	if err := json.Unmarshal([]byte(run(t, History(), append([]string{daemontest.App, "-o", "json"}, base...)...)), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Who != "ops" || recs[0].Status != runbook.StatusDone || recs[0].To != "west" {
		t.Fatalf("history: %+v", recs)
	}
	t.Log("\n" + out)

	// Home again: failback's target defaults to the policy's active site.
	back := run(t, Failback(), append([]string{daemontest.App}, base...)...)
	for _, want := range []string{"failback of shop: west → east", "1. rejoin", "failback of shop west → east: done"} {
		if !strings.Contains(back, want) {
			t.Errorf("failback output lacks %q:\n%s", want, back)
		}
	}
	if h := run(t, History(), base...); strings.Count(h, "Z-switchover ") != 1 || strings.Count(h, "Z-failback ") != 1 {
		t.Errorf("history:\n%s", h)
	}
}
