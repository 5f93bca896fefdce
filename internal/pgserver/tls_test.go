package pgserver_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/internal/testenv"
)

// issue makes a CA in dir/name and a server certificate for hosts; it returns the CA
// certificate's path and the TLS files for a server.
func issue(t *testing.T, dir, name string, hosts ...string) (string, pgserver.TLSFiles) {
	t.Helper()
	ca, err := pki.LoadOrCreate(filepath.Join(dir, name), pkix.Name{CommonName: name})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, name, "server")
	if err := ca.Issue(base, pki.Request{CommonName: "member", Hosts: hosts, Server: true}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caPath := filepath.Join(dir, name, pki.CACert)
	return caPath, pgserver.TLSFiles{CA: read(caPath), Cert: read(base + ".crt"), Key: read(base + ".key")}
}

// A server with TLS files and an access list that requires TLS: clear connections,
// replication or not, are refused; verify-full passes with the right CA and host and
// fails with another CA or another name; only the replication role replicates.
func TestTLSRequired(t *testing.T) {
	testenv.PostgresBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := t.TempDir()
	dir := filepath.Join(root, "pg")
	port := testenv.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	caPath, files := issue(t, root, "ca", "127.0.0.1")
	otherCA, _ := issue(t, root, "other-ca", "127.0.0.1")
	if err := pgserver.Init(ctx, dir, pgserver.InitOptions{Superuser: "boss", Password: "s3cret",
		Access: pgserver.Access{RequireTLS: true, ReplicationUser: "repl"}}); err != nil {
		t.Fatal(err)
	}
	if err := pgserver.WriteTLS(dir, files); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(pgserver.TLSDir(dir), pgserver.ServerKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server key: %v, mode %v", err, st.Mode())
	}
	if err := pgserver.Start(ctx, dir, addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pgserver.Kill(context.Background(), dir) })

	dsn := func(user, pw, host, extra string) string {
		return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=postgres connect_timeout=3 %s", host, port, user, pw, extra)
	}
	verified := dsn("boss", "s3cret", "127.0.0.1", "sslmode=verify-full sslrootcert="+caPath)
	if err := pgserver.WaitReady(ctx, verified); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, verified)
	if err != nil {
		t.Fatal(err)
	}
	var ssl bool
	var version string
	if err := c.QueryRow(ctx, `select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil || !ssl {
		t.Fatalf("pg_stat_ssl of a verify-full session: ssl=%v %v", ssl, err)
	}
	if _, err := c.Exec(ctx, `create role repl with login replication password 'r3pl'`); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	t.Logf("verify-full session: %s", version)

	for _, tc := range []struct {
		name, dsn string
		// want is in the error.
		want string
		// asX509 is the certificate error that must be in the chain.
		asX509 any
	}{
		{"clear session", dsn("boss", "s3cret", "127.0.0.1", "sslmode=disable"), "pg_hba.conf rejects connection", nil},
		{"clear replication", dsn("repl", "r3pl", "127.0.0.1", "sslmode=disable replication=true"), "pg_hba.conf rejects replication connection", nil},
		{"superuser replication over TLS", dsn("boss", "s3cret", "127.0.0.1", "sslmode=verify-full replication=true sslrootcert="+caPath), "pg_hba.conf rejects replication connection", nil},
		{"another CA", dsn("boss", "s3cret", "127.0.0.1", "sslmode=verify-full sslrootcert="+otherCA), "certificate signed by unknown authority", &x509.UnknownAuthorityError{}},
		{"a name not in the certificate", dsn("boss", "s3cret", "localhost", "sslmode=verify-full sslrootcert="+caPath), "certificate is not valid for", &x509.HostnameError{}},
	} {
		c, err := pgx.Connect(ctx, tc.dsn)
		if err == nil {
			c.Close(ctx)
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		switch want := tc.asX509.(type) {
		case *x509.UnknownAuthorityError:
			if !errors.As(err, want) {
				t.Errorf("%s: %v is not an x509.UnknownAuthorityError", tc.name, err)
			}
		case *x509.HostnameError:
			if !errors.As(err, want) {
				t.Errorf("%s: %v is not an x509.HostnameError", tc.name, err)
			}
		}
	}

	// The replication role replicates over TLS (IDENTIFY_SYSTEM answers).
	rc, err := pgx.Connect(ctx, dsn("repl", "r3pl", "127.0.0.1", "sslmode=verify-full replication=true sslrootcert="+caPath))
	if err != nil {
		t.Fatalf("replication over TLS: %v", err)
	}
	defer rc.Close(ctx)
	res := rc.PgConn().Exec(ctx, "IDENTIFY_SYSTEM")
	if _, err := res.ReadAll(); err != nil {
		t.Fatalf("IDENTIFY_SYSTEM: %v", err)
	}
}

func TestHBA(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    pgserver.Access
		want string
	}{
		{"default", pgserver.Access{}, `# Written by hadron: password (SCRAM) logins over TCP only.
host replication all 127.0.0.0/8 scram-sha-256
host all all 127.0.0.0/8 scram-sha-256
host replication all ::1/128 scram-sha-256
host all all ::1/128 scram-sha-256
host replication all all reject
`},
		{"TLS and one replication role", pgserver.Access{AllowCIDRs: []string{"10.0.0.0/8"}, RequireTLS: true, ReplicationUser: "hadron_replication"}, `# Written by hadron: SCRAM logins over TLS only; connections without TLS are refused.
hostssl replication "hadron_replication" 10.0.0.0/8 scram-sha-256
hostssl all all 10.0.0.0/8 scram-sha-256
host replication all all reject
hostnossl all all all reject
`},
	} {
		got, err := pgserver.HBA(tc.a)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v\n%s\nwant\n%s", tc.name, err, got, tc.want)
		}
	}
	if _, err := pgserver.HBA(pgserver.Access{ReplicationUser: "a\"b"}); err == nil {
		t.Error("a quote in a role name was written")
	}
}
