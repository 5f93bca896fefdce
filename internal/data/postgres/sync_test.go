package postgres

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// UpdateSync returns only once the primary lists the new synchronous member: here the
// walsender that must apply the reload is stopped (SIGSTOP) when UpdateSync starts, so
// the setting is written long before it is in force. Before the fix UpdateSync returned
// at once and east-1 was still listed async.
func TestUpdateSyncReturnsWhenInForce(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	primary, err := pgx.Connect(ctx, l.dsn("east-0"))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(context.Background())
	syncState := func() (string, int) {
		var state string
		var pid int
		if err := primary.QueryRow(ctx, `select coalesce(sync_state, ''), pid from pg_stat_replication where application_name = 'east-1'`).Scan(&state, &pid); err != nil {
			t.Fatal(err)
		}
		return state, pid
	}

	// Make the set asynchronous by hand, as a stale configuration would leave it.
	l.exec(ctx, "east-0", `alter system reset synchronous_standby_names`)
	l.exec(ctx, "east-0", `select pg_reload_conf()`)
	waitFor(t, ctx, "east-1 async", func() (bool, string) {
		s, _ := syncState()
		return s == "async", s
	})
	_, pid := syncState()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := make(chan struct{})
	go func() {
		defer close(resumed)
		time.Sleep(time.Second)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	if err := l.drv.UpdateSync(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := syncState(); s != "quorum" && s != "sync" {
		t.Fatalf("UpdateSync returned while east-1 is listed %q: RPO 0 not in force", s)
	}
	<-resumed
}

func TestSyncApplied(t *testing.T) {
	for i, tc := range []struct {
		wanted map[string]bool
		listed map[string]string
		absent map[string]bool
		ok     bool
	}{
		{map[string]bool{"a": true}, map[string]string{"a": "quorum", "b": "async"}, nil, true},
		{map[string]bool{"a": true}, map[string]string{"a": "async", "b": "async"}, nil, false},
		{map[string]bool{"a": true}, map[string]string{"b": "async"}, nil, false},
		{map[string]bool{}, map[string]string{"a": "quorum"}, nil, false},
		{map[string]bool{}, map[string]string{"a": "async"}, nil, true},
		{map[string]bool{"a": true, "b": true}, map[string]string{"a": "quorum", "b": "quorum"}, nil, true},
		// The keeper (or a DR member) named while it does not stream: commits wait for it.
		{map[string]bool{"a": true, KeeperName: true}, map[string]string{"a": "sync"}, map[string]bool{KeeperName: true}, true},
		{map[string]bool{"a": true, KeeperName: true}, map[string]string{"a": "async"}, map[string]bool{KeeperName: true}, false},
		{map[string]bool{"a": true, "w": true}, map[string]string{"w": "quorum"}, map[string]bool{"w": true}, false},
	} {
		if got := syncApplied(tc.wanted, tc.listed, tc.absent); got != tc.ok {
			t.Errorf("%d: syncApplied(%v, %v) = %v", i, tc.wanted, tc.listed, got)
		}
	}
}
