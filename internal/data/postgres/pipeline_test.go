package postgres

import (
	"strings"
	"testing"
	"time"
)

// ALTER SYSTEM runs in a pipeline (each statement in a transaction of its own), a value
// with quotes and a backslash arrives in postgresql.auto.conf as written, and a failing
// statement in the middle neither stops the later ones nor goes unreported.
func TestPipelinedAlterSystemOnARealServer(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 2*time.Minute)
	l.bootstrap(ctx)
	conn, done, err := l.drv.session(ctx, l.member("east-0"))
	if err != nil {
		t.Fatal(err)
	}
	defer done(false)
	const value = `it's a \ test`
	set, err := alterSystemSQL("application_name", value)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pipelined(ctx, conn, set, `select pg_reload_conf()`, `select nope from nowhere`, `select 3`)
	if err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("pipeline error %v, want the failing statement's", err)
	}
	if out[1] != "t" || out[2] != "" || out[3] != "3" {
		t.Fatalf("pipeline results %q", out)
	}
	var got string
	if err := conn.QueryRow(ctx, `select setting from pg_file_settings where name = 'application_name' and sourcefile like '%postgresql.auto.conf'`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != value {
		t.Fatalf("postgresql.auto.conf holds %q, want %q", got, value)
	}
	reset, _ := alterSystemSQL("application_name", "")
	if _, err := pipelined(ctx, conn, reset, `select pg_reload_conf()`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `select count(*) from pg_file_settings where name = 'application_name'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the reset: %d settings, %v", n, err)
	}
}
