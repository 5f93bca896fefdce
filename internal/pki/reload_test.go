package pki

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"hadron.dev/hadron/internal/atomicfile"
)

func serialOf(t *testing.T, c *tls.Certificate) *big.Int {
	t.Helper()
	if c == nil || c.Leaf == nil {
		t.Fatal("no certificate")
	}
	return c.Leaf.SerialNumber
}

// A pair follows its files, keeps the previous certificate while the key and the
// certificate do not match (a rotation half done), and takes the new one once they do.
func TestPairReloadsOnlyMatchingPairs(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(filepath.Join(dir, "ca"), pkix.Name{CommonName: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "east")
	req := Request{CommonName: "east", Hosts: []string{"127.0.0.1"}, Server: true, Client: true}
	if err := ca.Issue(base, req); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPair(base+".crt", base+".key")
	if err != nil {
		t.Fatal(err)
	}
	first := serialOf(t, p.Certificate())
	_, v1 := p.Combined()

	// A new pair elsewhere; its key is copied in first.
	next := filepath.Join(dir, "next")
	if err := ca.Reissue(next, req); err != nil {
		t.Fatal(err)
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.Write(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(next+".key", base+".key")
	if got := serialOf(t, p.Certificate()); got.Cmp(first) != 0 {
		t.Fatalf("a key without its certificate replaced the pair: serial %s, want %s", got, first)
	}
	if p.Err() == nil {
		t.Error("a mismatched pair on disk gives no error")
	}
	copyFile(next+".crt", base+".crt")
	want, err := ReadCert(next + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if got := serialOf(t, p.Certificate()); got.Cmp(want.SerialNumber) != 0 {
		t.Fatalf("after both files: serial %s, want %s", got, want.SerialNumber)
	}
	if p.Err() != nil {
		t.Errorf("error after a good pair: %v", p.Err())
	}
	combined, v2 := p.Combined()
	if v2 == v1 {
		t.Error("version did not change with the pair")
	}
	// The combined text is a pair by itself: tools given one file read both halves.
	if _, err := tls.X509KeyPair(combined, combined); err != nil {
		t.Errorf("combined PEM is not a key pair: %v", err)
	}
	if p.Leaf().SerialNumber.Cmp(want.SerialNumber) != 0 {
		t.Error("Leaf is not the certificate in use")
	}
}

func TestLoadPairFailsOnMismatch(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir, pkix.Name{CommonName: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if err := ca.Issue(filepath.Join(dir, n), Request{CommonName: n, Server: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadPair(filepath.Join(dir, "a.crt"), filepath.Join(dir, "b.key")); err == nil {
		t.Fatal("LoadPair accepted a key of another certificate")
	}
}
