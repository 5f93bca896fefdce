package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/retry"
)

// deposedEnv carries the mirror set to the deposed leader's process.
const deposedEnv = "HADRON_TEST_DEPOSED_LEADER"

// TestDeposedLeaderProcess is not a test of its own: TestMemberRefusesAStaleFencingToken
// runs the test binary again with deposedEnv set, as a second process — a deposed
// leader's daemon — that tries to promote a member with an older token.
func TestDeposedLeaderProcess(t *testing.T) {
	raw := os.Getenv(deposedEnv)
	if raw == "" {
		t.Skip("runs only as the deposed leader's process")
	}
	var req struct {
		Set    *v1alpha1.MirrorSet
		Member string
		Token  int64
	}
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatal(err)
	}
	// The set's spec.tls names its certificate files, as a daemon's fleet does.
	tls, err := TLSFromFleet(context.Background(), &fleet.Fleet{}, req.Set)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Set: req.Set, Regions: map[string]string{"east": "east", "west": "west"}, Password: testPassword,
		Logger: slog.New(slog.DiscardHandler), TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := st.Member(req.Member)
	_, err = d.Promote(ctx, req.Member, data.TokenFor(*m, req.Token))
	fmt.Printf("DEPOSED-RESULT stale=%v err=%v\n", errors.Is(err, data.ErrStaleFencing), err)
}

// A new leader (token 20) fails east-0 over to east-1 and rejoins east-0 as a stand-by.
// A deposed leader in another process (token 10) then tries to promote east-0: the
// member itself refuses, naming both tokens, although that process's driver never saw
// token 20. Its fence of the new primary is refused too, and the tokens survive a
// restart of the member.
func TestMemberRefusesAStaleFencingToken(t *testing.T) {
	if os.Getenv(deposedEnv) != "" {
		t.Skip()
	}
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.seqShipped(ctx, 50)

	if _, err := data.Failover(ctx, l.drv, "east-1", data.FailoverOptions{FencingToken: 20}); err != nil {
		t.Fatal(err)
	}
	if err := l.drv.Rejoin(ctx, "east-0"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"east-0", "east-1"} {
		if tok, err := l.drv.FencingToken(ctx, m); err != nil || tok != 20 {
			t.Fatalf("%s stores fencing token %d (%v), want 20", m, tok, err)
		}
	}

	req, _ := json.Marshal(map[string]any{"Set": l.set, "Member": "east-0", "Token": 10})
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDeposedLeaderProcess$", "-test.v")
	cmd.Env = append(os.Environ(), deposedEnv+"="+string(req))
	out, _ := cmd.CombinedOutput()
	var line string
	for _, s := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(s, "DEPOSED-RESULT ") {
			line = s
		}
	}
	t.Logf("deposed leader's process: %s", line)
	if !strings.Contains(line, "stale=true") || !strings.Contains(line, "fencing token 20") || !strings.Contains(line, "carries 10") {
		t.Fatalf("the deposed leader's promotion was not refused by the member:\n%s", out)
	}

	// An in-process driver that never saw token 20 is refused the same way.
	other := l.driver(testPassword)
	defer other.Close()
	if err := other.Fence(ctx, "east-1", 10); !errors.Is(err, data.ErrStaleFencing) {
		t.Fatalf("a stale fence of the new primary: %v, want ErrStaleFencing", err)
	}
	st := l.status(ctx)
	if st.Primary != "east-1" || st.Member("east-1").State != data.StatePrimary || st.Member("east-0").Primary {
		t.Fatalf("after the refused actions: %+v", st.Members)
	}

	// Durable: the token is on the instance, not in a process.
	m := l.member("east-1")
	if err := pgserver.Stop(ctx, m.DataDir, pgserver.StopFast); err != nil {
		t.Fatal(err)
	}
	if err := pgserver.Start(ctx, m.DataDir, m.Address.Address); err != nil {
		t.Fatal(err)
	}
	if tok, err := other.FencingToken(ctx, "east-1"); err != nil || tok != 20 {
		t.Fatalf("after a restart east-1 stores %d (%v), want 20", tok, err)
	}
	// A newer leader raises it.
	if err := other.Fence(ctx, "east-1", 30); err != nil {
		t.Fatal(err)
	}
	if tok, err := l.drv.FencingToken(ctx, "east-1"); err != nil || tok != 30 {
		t.Fatalf("after a fence with 30 east-1 stores %d (%v)", tok, err)
	}
	if err := l.drv.Unfence(ctx, "east-1", 20); !errors.Is(err, data.ErrStaleFencing) {
		t.Fatalf("a stale unfence: %v, want ErrStaleFencing", err)
	}
	if err := l.drv.Unfence(ctx, "east-1", 30); err != nil {
		t.Fatal(err)
	}
}

func TestTokenAllows(t *testing.T) {
	for _, tc := range []struct {
		stored, token int64
		safe, ok      bool
	}{
		{0, 0, false, true},
		{5, 5, false, true},
		{5, 7, false, true},
		{7, 5, false, false},
		{7, 5, true, false}, // a deposed leader's fence is refused too
		{7, 0, true, true},  // a self-fence holds no leadership
		{7, 0, false, false},
	} {
		err := data.TokenAllows("m", tc.stored, tc.token, tc.safe)
		if (err == nil) != tc.ok {
			t.Errorf("stored %d token %d safe %v: %v", tc.stored, tc.token, tc.safe, err)
		}
		if err != nil && (!errors.Is(err, data.ErrStaleFencing) || retry.IsRetryable(err)) {
			t.Errorf("stored %d token %d: %v is not a permanent stale-token error", tc.stored, tc.token, err)
		}
	}
}
