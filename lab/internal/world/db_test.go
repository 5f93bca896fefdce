package world

import (
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/topology"
)

// Every member gets a certificate from the lab's CA naming every address it is
// dialled at (its own and the link listeners of other regions), so verify-full holds
// from every region; the demo application verifies too and gets its password from a
// passfile, not its environment.
func TestMemberCertificatesCoverEveryAddress(t *testing.T) {
	dir := Dir(t.TempDir())
	db := newDatabases(topology.Default(), dir, slog.New(slog.DiscardHandler))
	if len(db.set.Spec.Members) == 0 || db.set.Spec.TLS == nil {
		t.Fatalf("lab mirror set: %+v", db.set.Spec)
	}
	if err := db.issueCertificates(); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir.CA(), pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, m := range db.set.Spec.Members {
		crt, key := topology.MemberCert(dir.PostgresCerts(), m.Name)
		b, err := os.ReadFile(crt)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key %v", m.Name, err)
		}
		block, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		addrs := []string{m.Address.Address}
		for _, a := range m.Address.FromRegions {
			addrs = append(addrs, a)
		}
		if len(addrs) < 2 {
			t.Fatalf("%s has no address in another region: %+v", m.Name, m.Address)
		}
		for _, a := range addrs {
			host, _, _ := net.SplitHostPort(a)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
				t.Errorf("%s dialled at %s: %v", m.Name, a, err)
			}
		}
	}

	dsn := db.dsn(topology.Default().Indexed()[0])
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Get("sslmode") != "verify-full" || u.Query().Get("sslrootcert") != filepath.Join(dir.CA(), pki.CACert) {
		t.Errorf("demo dsn %s", dsn)
	}
	if err := os.MkdirAll(dir.Postgres(), 0o755); err != nil {
		t.Fatal(err)
	}
	env := db.env()
	if len(env) != 1 || env[0] != "PGPASSFILE="+dir.DemoPassfile() {
		t.Fatalf("demo env %v", env)
	}
	pw, _ := db.password()
	if b, err := os.ReadFile(dir.DemoPassfile()); err != nil || !strings.HasSuffix(strings.TrimSpace(string(b)), ":"+pw) {
		t.Fatalf("demo passfile: %v", err)
	}
}
