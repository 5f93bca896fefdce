package demotest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/pgserver"
)

// StartStandby clones primary with pg_basebackup into a new server that streams from
// it, starts it on a free port and waits until primary sees it streaming. With sync,
// primary commits wait for the standby (synchronous_standby_names = '*').
func StartStandby(t testing.TB, primary *PG, sync bool) *PG {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &PG{Dir: filepath.Join(t.TempDir(), "standby"), Addr: FreeAddr(t)}
	if err := pgserver.PrepareDir(s.Dir); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(primary.Addr)
	ci := fmt.Sprintf("host=%s port=%s user=postgres password=%s application_name=standby sslmode=disable", host, port, Password)
	if _, err := pgserver.Run(ctx, "pg_basebackup", nil, "-D", s.Dir, "-d", ci, "-X", "stream", "-c", "fast", "-R", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pgserver.Kill(context.Background(), s.Dir) })
	s.Start(t)
	want := "async"
	if sync {
		want = "sync"
		primary.Exec(t, "ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()")
	}
	primary.Poll(t, "SELECT count(*)::text FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = '"+want+"'", "1")
	return s
}

// Promote makes a standby the primary and waits until it accepts writes.
func (p *PG) Promote(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pgserver.Run(ctx, "pg_ctl", nil, "promote", "-D", p.Dir, "-w", "-t", "60"); err != nil {
		t.Fatal(err)
	}
	p.Poll(t, "SELECT pg_is_in_recovery()::text", "false")
}

// Exec runs statements on the server as its superuser.
func (p *PG) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Poll runs query (one text value) every 50ms until it returns want, for up to a minute.
func (p *PG) Poll(t testing.TB, query, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got string
	var err error
	for {
		got, err = p.query(ctx, query)
		if err == nil && got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s on %s: got %q (err %v), want %q", query, p.Addr, got, err, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *PG) query(ctx context.Context, q string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var s string
	err = conn.QueryRow(ctx, q).Scan(&s)
	return s, err
}
