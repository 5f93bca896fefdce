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
