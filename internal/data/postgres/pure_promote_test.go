package postgres

import (
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

func TestReplayDone(t *testing.T) {
	t0 := time.Unix(1000, 0)
	look := func(after time.Duration, receiving bool, received, replayed uint64, wait string) replayState {
		return replayState{at: t0.Add(after), receiving: receiving, received: data.LSN(received), replayed: data.LSN(replayed), wait: wait}
	}
	const retry, stream = "RecoveryRetrieveRetryInterval", "RecoveryWalStream"
	for _, tc := range []struct {
		name       string
		now, first replayState
		want       bool
	}{
		{"still receiving", look(time.Second, true, 100, 100, stream), replayState{}, false},
		{"replayed all received", look(0, false, 100, 100, ""), replayState{}, true},
		{"nothing received", look(0, false, 0, 100, ""), replayState{}, true},
		{"replaying a backlog", look(time.Second, false, 200, 150, ""), look(0, false, 200, 100, ""), false},
		{"partial record, first stalled look", look(0, false, 0x4002000, 0x4001fe0, retry), replayState{}, false},
		{"partial record, stalled too briefly", look(100*time.Millisecond, false, 0x4002000, 0x4001fe0, retry), look(0, false, 0x4002000, 0x4001fe0, retry), false},
		{"partial record, settled", look(replaySettle, false, 0x4002000, 0x4001fe0, retry), look(0, false, 0x4002000, 0x4001fe0, retry), true},
		{"settled while waiting on the stream", look(time.Second, false, 0x4002000, 0x4001fe0, stream), look(0, false, 0x4002000, 0x4001fe0, retry), true},
		{"replay moved since the first stalled look", look(time.Second, false, 0x4002000, 0x4001ff0, retry), look(0, false, 0x4002000, 0x4001fe0, retry), false},
		{"not waiting for WAL now", look(time.Second, false, 0x4002000, 0x4001fe0, "WALRead"), look(0, false, 0x4002000, 0x4001fe0, retry), false},
	} {
		if got := replayDone(tc.now, tc.first); got != tc.want {
			t.Errorf("%s: replayDone = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAlterSystemSQLQuotesValues(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"synchronous_standby_names", "", `alter system reset "synchronous_standby_names"`},
		{"default_transaction_read_only", "on", `alter system set "default_transaction_read_only" = E'on'`},
		{"primary_conninfo", `host=a password='x\'y'`, `alter system set "primary_conninfo" = E'host=a password=''x\\''y'''`},
	} {
		got, err := alterSystemSQL(tc.name, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("alterSystemSQL(%q, %q) = %q, %v; want %q", tc.name, tc.value, got, err, tc.want)
		}
	}
	if _, err := alterSystemSQL("primary_conninfo", "a\x00b"); err == nil {
		t.Error("a NUL byte was accepted")
	}
}

func TestMemberRowFill(t *testing.T) {
	var o observation
	primary := memberRow{sysID: 7, readOnly: "on", flush: "0/5000060", walfile: "000000030000000000000005",
		history: "1\t0/3000000\tno recovery target\n2\t0/4000100\tno recovery target\n",
		senders: `[["west-0","streaming","async",0.25,false],["east-1","streaming","sync",0,false],["hadron_bound","streaming","sync",0,true]]`}
	if err := primary.fill(&o); err != nil {
		t.Fatal(err)
	}
	if !o.st.Primary || o.st.State != data.StateFenced || o.st.Timeline != 3 || o.st.FlushLSN != 0x5000060 ||
		o.forks[2] != 0x4000100 || o.replicas["west-0"] != (replica{state: "streaming", syncState: "async", replayLag: 0.25}) || o.replicas["east-1"].syncState != "sync" ||
		!o.replicas[KeeperName].unconfirmed {
		t.Fatalf("primary row: %+v forks %v replicas %v", o.st, o.forks, o.replicas)
	}
	if err := (memberRow{flush: "0/5000060", walfile: "000000020000000000000005", senders: "[]"}).fill(&observation{}); err == nil {
		t.Error("a primary on timeline 2 without its history file was accepted")
	}
	var s observation
	standby := memberRow{inRecovery: true, recv: "0/5000100", replay: "0/5000060", ckptTLI: 2, recvTLI: 3,
		recvStatus: "streaming", conninfo: "host=10.0.0.1 port=5432 password=secret"}
	if err := standby.fill(&s); err != nil {
		t.Fatal(err)
	}
	if s.st.Primary || s.st.FlushLSN != 0x5000100 || s.st.ReplayLSN != 0x5000060 || s.st.Timeline != 3 || !s.receiving || s.upstreamAddr != "10.0.0.1:5432" {
		t.Fatalf("standby row: %+v receiving %v upstream %q", s.st, s.receiving, s.upstreamAddr)
	}
}
