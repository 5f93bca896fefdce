package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
)

func TestRender(t *testing.T) {
	at := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	st := api.Status{Daemon: "east", Time: at, Leader: "west", LeaderToken: 42,
		Etcd: api.Etcd{Quorum: true, Members: []api.Member{{Name: "east"}, {Name: "west", Leader: true}, {Name: "witness"}}},
		Apps: []api.App{{Name: "shop", Active: "east", Strategy: "failover",
			Verdicts: map[string]string{"east": "down", "west": "up"},
			Observations: map[string]map[string]api.Observation{
				"east":    {"east": {OK: true, LatencyMS: 0.4}, "west": {OK: true, LatencyMS: 1.2}},
				"west":    {"east": {Error: "dial tcp 127.0.1.10:8080: connect: connection refused"}, "west": {OK: true, LatencyMS: 0.3}},
				"witness": {"east": {Error: "status 503"}},
			},
			DNS: &api.DNS{Name: "shop.gslb.test", Answers: []string{"127.0.2.10"}, Version: 7}}}}
	var b bytes.Buffer
	Render(&b, st)
	want := `daemon east at 2026-11-23T11:00:00Z
etcd: quorum, 3 members, raft leader west
leader: west (token 42)

application shop: active east, strategy failover
  SITE  VERDICT  EAST      WEST                                            WITNESS
  east  down     ok 0.4ms  FAIL …0.1.10:8080: connect: connection refused  FAIL status 503
  west  up       ok 1.2ms  ok 0.3ms                                        -
  DNS shop.gslb.test → 127.0.2.10 (state 7)
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}

	st.Apps[0].Standby = "pilot-light"
	st.Apps[0].Data = &api.DataSet{Name: "shop-db", Primary: "east-0", Members: []api.DataMember{
		{Name: "east-0", Site: "east", Role: "primary", State: "primary"},
		{Name: "east-1", Site: "east", Role: "failover", State: "streaming", Sync: true},
		{Name: "west-0", Site: "west", Role: "dr-async", State: "catching up", LagBytes: 8192, LagSeconds: 0.25},
	}, Promise: &api.DataPromise{Mode: "bounded", Bound: "200ms", InForce: true, Holding: true, DR: "west-0", ConfirmedLagSeconds: 0.25,
		Summary: "bounded 200ms: commits wait: the DR member is behind the bound, west-0 250ms behind"}}
	b.Reset()
	Render(&b, st)
	for _, line := range []string{
		"application shop: active east, stand-by pilot-light, strategy failover\n",
		"  data shop-db: primary east-0\n" +
			"  data loss bounded 200ms: commits wait: the DR member is behind the bound, west-0 250ms behind\n",
		"    east-0  east  primary   primary\n",
		"    east-1  east  failover  streaming    sync  lag 0 B, 0.0 s\n",
		"    west-0  west  dr-async  catching up        lag 8192 B, 0.2 s\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, b.String())
		}
	}

	archivedAt := at.Add(-20 * time.Second)
	for _, tc := range []struct {
		a    *api.ArchiveLag
		want string
	}{
		{&api.ArchiveLag{Primary: "east-0", LagBytes: 4096, Bound: "2m0s", LastArchived: "000000010000000000000007", LastArchivedAt: archivedAt},
			"  data loss bounded 200ms: commits wait: the DR member is behind the bound, west-0 250ms behind\n" +
				"  archive lag 4096 B, 0 segments waiting; last archived 000000010000000000000007 at 2026-11-23T10:59:40Z\n"},
		{&api.ArchiveLag{Primary: "east-0", LagBytes: 50331648, WaitingSegments: 3, WaitingSeconds: 185.4, Bound: "2m0s", OverBound: true,
			FailedCount: 12, LastFailed: "000000010000000000000004"},
			"  archive lag 50331648 B, 3 segments waiting, oldest 3m5s: OVER THE BOUND 2m0s; archive_command failed 12 times, last on 000000010000000000000004\n"},
		{&api.ArchiveLag{Primary: "east-0", LagBytes: 16777216, WaitingSegments: 1, WaitingSeconds: 2, Bound: "2m0s"},
			"  archive lag 16777216 B, 1 segments waiting, oldest 2s (bound 2m0s)\n"},
		{&api.ArchiveLag{Bound: "2m0s", Error: "no primary found"}, "  archive lag unknown: no primary found\n"},
	} {
		st.Apps[0].Data.Archive = tc.a
		b.Reset()
		Render(&b, st)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("output lacks %q:\n%s", tc.want, b.String())
		}
	}

	st.Apps[0].Run = &api.OpenRun{ID: "r1", Kind: "failover", From: "east", To: "west", Who: "auto",
		Status: "failed", Step: 2, Steps: 5, StepName: "promote", Error: "promote: member unreachable"}
	b.Reset()
	Render(&b, st)
	if want := "  runbook r1: failover east → west by auto, step 2/5 promote (failed): promote: member unreachable\n"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks the open run %q:\n%s", want, b.String())
	}

	st.CannotAct = map[string]map[string]string{
		"west":    {"shop-db": "password not available: passwordFrom.file: open /etc/hadron/pg-password: permission denied"},
		"witness": {"shop-db": "spec.credentials is not set"},
	}
	st.Apps[0].AutoFailoverHeld = "daemon west cannot act on mirror set shop-db: …; handing the leadership to a daemon that can act on it"
	b.Reset()
	Render(&b, st)
	for _, line := range []string{
		"leader: west (token 42)\n" +
			"daemon west (the leader) cannot act on mirror set shop-db: password not available: passwordFrom.file: open /etc/hadron/pg-password: permission denied\n" +
			"daemon witness cannot act on mirror set shop-db: spec.credentials is not set\n",
		"  automatic failover held: daemon west cannot act on mirror set shop-db: …; handing the leadership to a daemon that can act on it\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, b.String())
		}
	}

	st.Etcd = api.Etcd{Quorum: false, SelfFenced: true, LastQuorum: at.Add(-4 * time.Second)}
	st.Leader = ""
	b.Reset()
	Render(&b, st)
	for _, line := range []string{"etcd: no quorum: decisions frozen (last majority 4s ago)", "self-fenced:", "leader: none"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("without quorum the output lacks %q:\n%s", line, b.String())
		}
	}
}

// run runs `hadron status` with args and returns its output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("hadron status %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestStatusAgainstDaemons(t *testing.T) {
	w := daemontest.Start(t, 219, daemontest.Options{})
	w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "verdicts published", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	base := []string{"-f", w.FleetFile, "--pki", w.PKI.Dir}
	text := run(t, base...)
	for _, want := range []string{"daemon east", "etcd: quorum, 3 members", "application shop: active east", "DNS shop.gslb.test → " + w.LBs["east"].IP()} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	// Under load a verdict can go stale (unknown) between two looks: ask until the
	// witness's document says what it saw, and check its shape each time.
	var st api.Status
	coordtest.Eventually(t, 30*time.Second, "the witness's JSON status shows west up", func() bool {
		st = api.Status{}
		if err := json.Unmarshal([]byte(run(t, append(base, "-o", "json", "--daemon", "witness")...)), &st); err != nil {
			t.Fatal(err)
		}
		if st.Daemon != "witness" {
			t.Fatalf("--daemon witness answered by %q", st.Daemon)
		}
		return st.Leader != "" && len(st.Apps) == 1 && st.Apps[0].Verdicts["west"] == "up"
	})

	// east's peers gone: east says decisions are frozen.
	w.Daemons["west"].Stop()
	w.Daemons["witness"].Stop()
	coordtest.Eventually(t, 30*time.Second, "east reports no quorum", func() bool {
		return strings.Contains(run(t, base...), NoQuorum)
	})
	// The stopped daemons are skipped; asking one of them alone fails.
	cmd := Command()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(append(base, "--daemon", "west", "--timeout", "1s"))
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "no daemon answered") {
		t.Errorf("status of a stopped daemon: %v", err)
	}
}
