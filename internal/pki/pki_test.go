package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentCreateYieldsOneCA(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	cas := make([]*Authority, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cas[i], errs[i] = LoadOrCreate(dir, pkix.Name{CommonName: "test CA"})
		}(i)
	}
	wg.Wait()
	for i := range cas {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, errs[i])
		}
		if !cas[i].Cert.Equal(cas[0].Cert) {
			t.Fatalf("process %d got a different CA", i)
		}
	}
}

func TestIssueServesTLSAndIsKept(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir, pkix.Name{CommonName: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "east")
	if err := ca.Issue(base, Request{CommonName: "east", Hosts: []string{"127.0.1.40", "east.example"}, Server: true, Client: true}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(base+".crt", base+".key")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, host := range []string{"127.0.1.40", "east.example"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	before, _ := os.ReadFile(base + ".crt")
	if err := ca.Issue(base, Request{CommonName: "east"}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(base + ".crt")
	if string(before) != string(after) {
		t.Error("a certificate signed by this CA was issued again")
	}
}

func TestCAWithoutKeyIsNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, pkix.Name{CommonName: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CAKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, pkix.Name{CommonName: "x"}); !errors.Is(err, ErrNoCAKey) {
		t.Fatalf("err = %v, want ErrNoCAKey", err)
	}
}

func TestLoadNeverCreates(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of an empty directory: %v, want not-exist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, CAKey)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Load created a CA")
	}
	if _, err := LoadOrCreate(dir, pkix.Name{CommonName: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, CAKey))
	if _, err := Load(dir); !errors.Is(err, ErrNoCAKey) {
		t.Fatalf("Load without the key: %v, want ErrNoCAKey", err)
	}
}

func TestReissueHonoursValidity(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir, pkix.Name{CommonName: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "east")
	if err := ca.Issue(base, Request{CommonName: "east", Server: true}); err != nil {
		t.Fatal(err)
	}
	first, err := ReadCert(base + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(first.NotAfter); d < LeafValidity-time.Hour || d > LeafValidity {
		t.Errorf("default validity: expires in %s, want about %s", d, LeafValidity)
	}
	if err := ca.Reissue(base, Request{CommonName: "east", Server: true, Validity: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	second, err := ReadCert(base + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("Reissue kept the serial number")
	}
	if d := time.Until(second.NotAfter); d > 10*time.Minute || d < 9*time.Minute {
		t.Errorf("validity 10m: expires in %s", d)
	}
}

// IPsAsNames puts each IP address among the DNS names as well (for clients that match
// names only) and still verifies for the address.
func TestIssueIPsAsNames(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir, pkix.Name{CommonName: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "store")
	if err := ca.Issue(base, Request{CommonName: "store", Hosts: []string{"127.0.3.60", "store.example"}, IPsAsNames: true, Server: true}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(base+".crt", base+".key")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if got := strings.Join(leaf.DNSNames, ","); got != "127.0.3.60,store.example" {
		t.Errorf("DNS names %s", got)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.3.60"}); err != nil {
		t.Errorf("verify for the address: %v", err)
	}
}
