package postgres

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
)

// TestReplicationOverVerifiedTLS: WAL streams over TLS, the DR member's across the
// cross-region link; a replication connection without TLS is refused; the replication
// role is no superuser; and no password shows in a statement, pg_stat_activity, a
// server log, a configuration file, or the environment and arguments of the WAL
// receiver, pg_basebackup or pg_rewind (each run through a wrapper that records them).
func TestReplicationOverVerifiedTLS(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 4*time.Minute)
	dumps := wrapTools(t, filepath.Dir(l.member("east-0").DataDir), "pg_basebackup", "pg_rewind")
	l.bootstrap(ctx)
	replPW := replicationPassword(testPassword)
	secrets := []string{testPassword, replPW, "Sécret"}

	// Every walsender on the primary is encrypted (TLS 1.3), west-0's through the link.
	rows := l.query(ctx, "east-0", `select r.application_name, s.ssl, coalesce(s.version, ''), r.usename::text
		from pg_stat_replication r join pg_stat_ssl s using (pid) order by 1`)
	if len(rows) != 2 {
		t.Fatalf("pg_stat_replication on east-0: %v", rows)
	}
	for _, r := range rows {
		if r[1] != "true" || !strings.HasPrefix(r[2], "TLSv1.") || r[3] != "replicator" {
			t.Errorf("walsender of %s: ssl=%s version=%s user=%s; want TLS as replicator", r[0], r[1], r[2], r[3])
		}
	}
	t.Logf("walsenders: %v", rows)
	link := l.member("east-0").Address.From("west")
	recv := l.query(ctx, "west-0", `select pid::text, sender_host || ':' || sender_port, conninfo from pg_stat_wal_receiver`)
	if len(recv) != 1 || recv[0][1] != link {
		t.Fatalf("west-0's WAL receiver: %v, want it connected to the link %s", recv, link)
	}
	if ci := recv[0][2]; !strings.Contains(ci, "sslmode=verify-full") || !strings.Contains(ci, "passfile=") {
		t.Errorf("west-0's WAL receiver conninfo %q: want verify-full and a passfile", ci)
	}

	// Without TLS, replication is refused, even with the right role and password.
	plain := fmt.Sprintf("host=127.0.0.1 port=%s user=replicator password=%s dbname=postgres replication=true sslmode=disable connect_timeout=3",
		strings.Split(l.member("east-0").Address.Address, ":")[1], quoteConn(replPW))
	if c, err := pgx.Connect(ctx, plain); err == nil {
		c.Close(ctx)
		t.Fatal("a replication connection without TLS was accepted")
	} else if !strings.Contains(err.Error(), "pg_hba.conf rejects replication connection") || !strings.Contains(err.Error(), "no encryption") {
		t.Fatalf("replication without TLS: %v", err)
	}
	// The same role over TLS is let in: the refusal above was for the missing TLS.
	tlsRepl := strings.Replace(plain, "sslmode=disable", l.sslDSN(), 1)
	if c, err := pgx.Connect(ctx, tlsRepl); err != nil {
		t.Fatalf("replication over TLS: %v", err)
	} else {
		c.Close(ctx)
	}

	role := l.query(ctx, "east-0", `select rolsuper::text, rolreplication::text, left(rolpassword, 14) from pg_authid where rolname = 'replicator'`)
	if len(role) != 1 || role[0][0] != "false" || role[0][1] != "true" || role[0][2] != "SCRAM-SHA-256$" {
		t.Fatalf("replication role: %v", role)
	}

	// Every statement the primary runs from now on is logged; the role's password is
	// set again (Bootstrap is idempotent), then east-0 fails, east-1 is promoted and
	// east-0 is rewound as a standby with pg_rewind.
	l.exec(ctx, "east-0", `alter system set log_statement = 'all'`)
	l.exec(ctx, "east-0", `select pg_reload_conf()`)
	l.bootstrap(ctx)
	active := l.query(ctx, "east-0", `select coalesce(string_agg(query, ' | '), '') from pg_stat_activity`)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	l.insert(ctx, "east-0", 1, 50)
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := data.Failover(ctx, l.drv, "east-1", data.FailoverOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.drv.Resume(ctx, "east-0"); err != nil {
		t.Fatal(err)
	}
	// pg_rewind ran as the replication role and succeeded (whether it found anything
	// to rewind is TestFailoverUnderLoadThenOldPrimaryRewinds's business).
	rcs, _ := filepath.Glob(filepath.Join(dumps, "pg_rewind.*.rc"))
	if len(rcs) == 0 {
		t.Fatal("pg_rewind did not run")
	}
	for _, rc := range rcs {
		if b := strings.TrimSpace(readFile(t, rc)); b != "0" {
			t.Fatalf("pg_rewind exited %s", b)
		}
	}
	if e0 := l.status(ctx).Member("east-0"); e0.Upstream != "east-1" || e0.State != data.StateStreaming {
		t.Fatalf("rewound east-0: %+v", *e0)
	}

	var texts []string
	for _, m := range l.set.Spec.Members {
		// The WAL receiver's environment and command line.
		if r := l.query(ctx, m.Name, `select pid::text from pg_stat_wal_receiver`); len(r) == 1 {
			texts = append(texts, readProc(t, r[0][0], "environ"), readProc(t, r[0][0], "cmdline"))
		}
		for _, f := range []string{filepath.Join(m.DataDir, "postgresql.auto.conf"), filepath.Join(m.DataDir, "postgresql.conf"), pgserver.LogPath(m.DataDir)} {
			texts = append(texts, readFile(t, f))
		}
		texts = append(texts, l.query(ctx, m.Name, `select coalesce(string_agg(query, ' | '), '') from pg_stat_activity`)[0][0])
	}
	texts = append(texts, active[0][0])
	log := readFile(t, pgserver.LogPath(l.member("east-0").DataDir))
	if !strings.Contains(log, `alter role "replicator" with login replication`) {
		t.Fatal("east-0's log shows no ALTER ROLE: log_statement did not catch the role's statements")
	}
	for _, tool := range []string{"pg_basebackup", "pg_rewind"} {
		envs, _ := filepath.Glob(filepath.Join(dumps, tool+".*.env"))
		if len(envs) == 0 {
			t.Fatalf("%s never ran", tool)
		}
		for _, e := range envs {
			env := readFile(t, e)
			if !strings.Contains(env, "PGPASSFILE=") || strings.Contains(env, "PGPASSWORD") {
				t.Errorf("%s: environment %q: want PGPASSFILE and no PGPASSWORD", tool, env)
			}
			args := readFile(t, strings.TrimSuffix(e, ".env")+".args")
			if !strings.Contains(args, "sslmode=verify-full") {
				t.Errorf("%s ran without verify-full: %q", tool, args)
			}
			texts = append(texts, env, args)
		}
	}
	for _, tx := range texts {
		for _, s := range secrets {
			if strings.Contains(tx, s) {
				t.Fatalf("a password shows in %q", tx)
			}
		}
	}
	// The passfile holds the replication role's password only, readable by its owner.
	pf := passfile(l.member("west-0").DataDir)
	st, err := os.Stat(pf)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("passfile %s: %v mode %v", pf, err, st.Mode())
	}
	if b := readFile(t, pf); !strings.Contains(b, replPW) || strings.Contains(b, testPassword) {
		t.Fatalf("passfile holds %q", b)
	}
}

// TestVerifyFullRefusesAnotherCAOrName: hadron's sessions and a member's WAL receiver
// refuse a server whose certificate is from another CA, or does not name the address
// dialled.
func TestVerifyFullRefusesAnotherCAOrName(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)

	otherDir := filepath.Join(t.TempDir(), "other")
	other, err := pki.LoadOrCreate(otherDir, pkix.Name{CommonName: "another CA"})
	if err != nil {
		t.Fatal(err)
	}
	otherTLS := *l.tls
	otherTLS.CA = other.CertPEM
	d, err := New(Config{Set: l.set, Regions: map[string]string{"east": "east", "west": "west"}, Password: testPassword, TLS: &otherTLS})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.connect(ctx, l.member("east-0"), "postgres")
	if !errors.Is(err, data.ErrUnreachable) || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Fatalf("a session trusting another CA: %v, want unreachable for an unknown authority", err)
	}
	// The right CA, but a name the certificate does not hold (it holds 127.0.0.1).
	m := l.member("east-0")
	m.Address = v1alpha1.Endpoint{Address: "localhost:" + strings.Split(m.Address.Address, ":")[1]}
	_, err = l.drv.connect(ctx, m, "postgres")
	if !errors.Is(err, data.ErrUnreachable) || !strings.Contains(err.Error(), "x509: certificate is not valid for any names, but wanted to match localhost") {
		t.Fatalf("a session to localhost: %v, want a certificate not valid for that name", err)
	}
	c, err := l.drv.connect(ctx, l.member("east-0"), "postgres")
	if err != nil {
		t.Fatalf("the right CA and name: %v", err)
	}
	c.Close(ctx)

	// west-0's WAL receiver, given the other CA, cannot reconnect once its session ends.
	w := l.member("west-0")
	caFile := filepath.Join(pgserver.TLSDir(w.DataDir), pgserver.CAFile)
	if err := pgserver.WriteTLS(w.DataDir, pgserver.TLSFiles{CA: other.CertPEM}); err != nil {
		t.Fatal(err)
	}
	// Ending its session on the primary's side makes it connect again (a WAL receiver
	// cannot be terminated itself).
	l.exec(ctx, "east-0", `select pg_terminate_backend(pid) from pg_stat_replication where application_name = 'west-0'`)
	waitFor(t, ctx, "west-0 refusing east-0's certificate", func() (bool, string) {
		log := readFile(t, pgserver.LogPath(w.DataDir))
		return strings.Contains(log, "certificate verify failed"), lastLine([]byte(log))
	})
	if r := l.query(ctx, "west-0", `select count(*)::text from pg_stat_wal_receiver where status = 'streaming'`); r[0][0] != "0" {
		t.Fatalf("west-0 streams with a CA that did not sign east-0's certificate")
	}
	if err := pgserver.WriteTLS(w.DataDir, pgserver.TLSFiles{CA: l.tls.CA}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "west-0 streaming again with the right CA in "+caFile, func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming, fmt.Sprintf("%+v", *m)
	})
}

// wrapTools points HADRON_PG_BIN at a copy of the server programs in which each of
// tools is a script that records its environment and arguments in the returned
// directory before running the real program.
func wrapTools(t *testing.T, root string, tools ...string) string {
	t.Helper()
	real := pgserver.Bin()
	bin, dumps := filepath.Join(root, "bin"), filepath.Join(root, "dumps")
	for _, d := range []string{bin, dumps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dumps, 0o777); err != nil { // the tools run as the server's OS user
		t.Fatal(err)
	}
	ents, err := os.ReadDir(real)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Symlink(filepath.Join(real, e.Name()), filepath.Join(bin, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range tools {
		script := fmt.Sprintf(`#!/bin/sh
d=%q; n=%q
tr '\0' '\n' < /proc/$$/environ > "$d/$n.$$.env"
printf '%%s\n' "$@" > "$d/$n.$$.args"
%q "$@"
rc=$?
echo $rc > "$d/$n.$$.rc"
exit $rc
`, dumps, tool, filepath.Join(real, tool))
		p := filepath.Join(bin, tool)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(pgserver.EnvBin, bin)
	return dumps
}

// query runs sql on member and returns every row as text.
func (l *lab) query(ctx context.Context, member, sql string) [][]string {
	l.t.Helper()
	c, err := pgx.Connect(ctx, l.dsn(member))
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, sql)
	if err != nil {
		l.t.Fatalf("%s on %s: %v", sql, member, err)
	}
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			l.t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		l.t.Fatal(err)
	}
	return out
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readProc(t testing.TB, pid, what string) string {
	t.Helper()
	return strings.ReplaceAll(readFile(t, filepath.Join("/proc", pid, what)), "\x00", "\n")
}
