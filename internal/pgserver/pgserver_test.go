package pgserver_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
)

func TestLifecycle(t *testing.T) {
	testenv.PostgresBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pg")
	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port above 20000
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := pgserver.Init(ctx, dir, pgserver.InitOptions{Superuser: "boss", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := pgserver.Start(ctx, dir, addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pgserver.Kill(context.Background(), dir) })
	dsn := fmt.Sprintf("postgres://boss:s3cret@%s/postgres?sslmode=disable", addr)
	if err := pgserver.WaitReady(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	if _, ok := pgserver.Running(dir); !ok {
		t.Fatal("Running says no after Start")
	}

	// A wrong password is refused: SCRAM is enforced over TCP.
	if c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://boss:wrong@%s/postgres?sslmode=disable", addr)); err == nil {
		c.Close(ctx)
		t.Fatal("wrong password accepted")
	}

	// A killed server comes back and keeps its data.
	exec(t, ctx, dsn, "create table t(v int); insert into t values (42)")
	if err := pgserver.Kill(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := pgserver.Running(dir); ok {
		t.Fatal("Running says yes after Kill")
	}
	if err := pgserver.Start(ctx, dir, addr); err != nil {
		t.Fatal(err)
	}
	if err := pgserver.WaitReady(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := c.QueryRow(ctx, "select v from t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after crash: v=%d err=%v", v, err)
	}
	c.Close(ctx)
	if err := pgserver.Stop(ctx, dir, pgserver.StopFast); err != nil {
		t.Fatal(err)
	}
	if _, ok := pgserver.Running(dir); ok {
		t.Fatal("Running says yes after Stop")
	}
	if err := pgserver.Stop(ctx, dir, pgserver.StopFast); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func exec(t *testing.T, ctx context.Context, dsn, sql string) {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
