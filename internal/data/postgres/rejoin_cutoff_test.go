package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/pgserver"
)

// TestCutOffRejoinIsTakenUpAgain is the regression of chaos seed 7's second finding: a
// rejoin of a former primary whose context ends after it stopped the member (the
// leader's term ended) left the member stopped, and no monitor ever rejoined it, since
// a stopped member looks like a lost one. Now the member stays marked: Status reports
// it rejoining, and a monitor — a new one, as a new leader would run — rejoins it.
func TestCutOffRejoinIsTakenUpAgain(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	l.exec(ctx, "east-0", `insert into seq select generate_series(1, 100)`)
	east0 := l.member("east-0")
	l.failOverToEast1(ctx)
	l.exec(ctx, "east-1", `insert into seq select generate_series(101, 150)`)
	// The old primary comes back, and is fenced, as a monitor would before rejoining it.
	if err := l.drv.StartMember(ctx, "east-0"); err != nil {
		t.Fatalf("start east-0: %v", err)
	}
	if err := l.drv.Fence(ctx, "east-0", 0); err != nil {
		t.Fatalf("fence east-0: %v", err)
	}

	// The rejoin's context ends the moment it has stopped the member.
	rctx, cut := context.WithCancel(ctx)
	go func() {
		defer cut()
		for rctx.Err() == nil {
			if _, running := pgserver.Running(east0.DataDir); !running {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	err := l.drv.Rejoin(rctx, "east-0")
	cut()
	if err == nil {
		t.Fatal("rejoin whose context ended while the member was down succeeded; the test cut nothing")
	}
	t.Logf("cut-off rejoin: %v", err)
	if _, running := pgserver.Running(east0.DataDir); running {
		t.Fatal("east-0 runs after the cut-off rejoin; want it left down, marked")
	}
	if m := l.status(ctx).Member("east-0"); m.State != data.StateRejoining {
		t.Fatalf("east-0 after the cut-off rejoin: %s (%s), want %s", m.State, m.Error, data.StateRejoining)
	}

	// A monitor that never saw the rejoin (a new leader's) takes it up again.
	var actions []string
	mon := &monitor.Monitor{Driver: l.drv, Config: monitor.Config{FailAfter: 3},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnAction: func(a monitor.Action, err error) {
			actions = append(actions, fmt.Sprintf("%s %s err=%v", a.Kind, a.Member, err))
		}}
	waitFor(t, ctx, "east-0 streaming from east-1", func() (bool, string) {
		mon.Step(ctx, mon.Logger)
		m := l.status(ctx).Member("east-0")
		return !m.Primary && m.Upstream == "east-1" && m.State == data.StateStreaming, fmt.Sprintf("%s actions=%v", m.State, actions)
	})
	if _, err := os.Stat(rejoinMarker(east0)); !os.IsNotExist(err) {
		t.Errorf("the rejoin marker is still there after the rejoin succeeded (%v)", err)
	}
	if n := l.count(ctx, "east-0"); n != 150 {
		t.Errorf("east-0 holds %d rows after the rejoin, want east-1's 150", n)
	}
}

// TestStalledStandbyIsRejoined: a reachable standby with no WAL stream (here its
// primary_conninfo points nowhere; in a failback bench a receiver stopped by a
// reconfiguration never came back) is rejoined by the monitor after StalledAfter
// observations, and streams again.
func TestStalledStandbyIsRejoined(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	waitFor(t, ctx, "west-0 streaming", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming, string(m.State)
	})
	l.exec(ctx, "west-0", `alter system set primary_conninfo = 'host=127.0.0.1 port=1 connect_timeout=1'`)
	l.exec(ctx, "west-0", `select pg_reload_conf()`)
	waitFor(t, ctx, "west-0 without a stream", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateDisconnected, string(m.State)
	})
	l.exec(ctx, "east-0", `insert into seq select generate_series(1, 20)`)

	var actions []string
	mon := &monitor.Monitor{Driver: l.drv, Config: monitor.Config{FailAfter: 3, StalledAfter: 3},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnAction: func(a monitor.Action, err error) {
			actions = append(actions, fmt.Sprintf("%s %s err=%v", a.Kind, a.Member, err))
		}}
	waitFor(t, ctx, "west-0 streaming again", func() (bool, string) {
		mon.Step(ctx, mon.Logger)
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.Upstream == "east-0", fmt.Sprintf("%s actions=%v", m.State, actions)
	})
	if len(actions) == 0 || !strings.HasPrefix(actions[0], "rejoin west-0 err=<nil>") {
		t.Errorf("actions %v, want the monitor's rejoin of west-0", actions)
	}
	waitFor(t, ctx, "west-0 has the rows written while it had no stream", func() (bool, string) {
		n := l.count(ctx, "west-0")
		return n == 20, fmt.Sprint(n)
	})
}
