package runbook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cli/clitest"
	"hadron.dev/hadron/internal/coord"
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
	if !strings.Contains(dry, "switchover of shop: east → west") || !strings.Contains(dry, "9. standby-old") ||
		!strings.Contains(dry, "quorum: east up, west up") || !strings.Contains(dry, "would: no mirror set") {
		t.Fatalf("dry run:\n%s", dry)
	}
	if h := run(t, History(), base...); !strings.Contains(h, "no runs in the ledger") {
		t.Fatalf("dry run left a record:\n%s", h)
	}

	// The ledger names the API token that asked (ops).
	out := run(t, Switchover(), append([]string{daemontest.App, "--to", "west", "--token-file", w.TokenFile(t, "ops", apitoken.Operate)}, base...)...)
	for _, want := range []string{"run ", "1. ready", "2. capacity", "7. dns", "9. standby-old", "switchover of shop east → west: done", "RTO (decision → verified)"} {
		if !strings.Contains(out, want) {
			t.Errorf("switchover output lacks %q:\n%s", want, out)
		}
	}
	var hist struct {
		APIVersion, Kind string
		Runs             []runbook.Record
	}
	if err := json.Unmarshal([]byte(run(t, History(), append([]string{daemontest.App, "-o", "json"}, base...)...)), &hist); err != nil {
		t.Fatal(err)
	}
	recs := hist.Runs
	if hist.APIVersion != "hadron.dev/v1alpha1" || hist.Kind != "History" || len(recs) != 1 || recs[0].Who != "ops" || recs[0].Status != runbook.StatusDone || recs[0].To != "west" {
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

// A failed run is answered from the CLI: --resume follows it to its end like a new
// run, --abort prints it as the ledger keeps it; answers that do not fit the open run
// are refused with what is wrong.
func TestResumeAndAbortAgainstDaemons(t *testing.T) {
	w := daemontest.Start(t, 245, daemontest.Options{})
	w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "verdicts published", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	base := []string{"-f", w.FleetFile, "--pki", w.PKI.Dir}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd := w.Daemons["witness"].Client()
	tok, err := coord.Leader(ctx, etcd)
	if err != nil {
		t.Fatal(err)
	}
	// launch records a run as the leader does (its first step started), without
	// executing it; fail stops it at that step, as a step out of budget does.
	launch := func(kind runbook.Kind, from, to string) *runbook.Record {
		rec, err := runbook.Launch(ctx, etcd, tok, kind, daemontest.App, from, to, "alice", true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	fail := func(rec *runbook.Record) {
		runbook.Fail(rec, 0, errors.New("budget ran out"))
		if err := runbook.Save(ctx, etcd, tok, rec); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(want string, cmd *cobra.Command, args ...string) {
		t.Helper()
		out, errOut, code := clitest.Run(t, cmd, append(args, base...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Fatalf("%s %v: exit %d, stderr %q, want 2 and %q\n%s", cmd.Name(), args, code, errOut, want, out)
		}
	}

	refused("no open run for shop", Switchover(), daemontest.App, "--resume")
	sw := launch(runbook.Switchover, "east", "west")
	fail(sw)
	refused("is a switchover, not a failover", Failover(), daemontest.App, "--resume")
	refused("moves the application to west, not east", Switchover(), daemontest.App, "--resume", "--to", "east")
	refused("--reason goes with --abort", Switchover(), daemontest.App, "--resume", "--reason", "x")

	out, errOut, code := clitest.Run(t, Switchover(), append([]string{daemontest.App, "--resume", "--token-file", w.TokenFile(t, "bob", apitoken.Operate)}, base...)...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"run " + sw.ID + ": switchover of shop east → west by alice, failed at step 1 (ready): ready: budget ran out",
		"resumed by bob", "1. ready", "9. standby-old", "switchover of shop east → west: done", "resumed by bob at", "RTO (decision → verified)"} {
		if !strings.Contains(out, want) {
			t.Errorf("resume output lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)

	fo := launch(runbook.Failover, "west", "east")
	refused("run "+fo.ID+" is running, not failed", Failover(), daemontest.App, "--resume")
	refused("run "+fo.ID+" is running, not failed", Failover(), daemontest.App, "--abort")
	fail(fo)
	out, errOut, code = clitest.Run(t, Failover(), append([]string{daemontest.App, "--abort", "--token-file", w.TokenFile(t, "carol", apitoken.Operate), "--reason", "east is rebuilt"}, base...)...)
	if code != 0 {
		t.Fatalf("abort: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"run " + fo.ID + " aborted by carol", "1. fence", "failed (attempt 1): budget ran out", "2. promote", "not run",
		"failover of shop west → east: aborted", "aborted by carol at", ": east is rebuilt; no step was undone"} {
		if !strings.Contains(out, want) {
			t.Errorf("abort output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RTO") {
		t.Errorf("an aborted run claims an RTO:\n%s", out)
	}
	t.Log("\n" + out)
	refused("no open run for shop", Failover(), daemontest.App, "--abort")

	h := run(t, History(), append([]string{daemontest.App}, base...)...)
	for _, want := range []string{"switchover of shop east → west: done", "resumed by bob at", "failover of shop west → east: aborted", "aborted by carol at"} {
		if !strings.Contains(h, want) {
			t.Errorf("history lacks %q:\n%s", want, h)
		}
	}
}
