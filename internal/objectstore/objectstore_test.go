package objectstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/pki"
)

// A client that trusts the store's CA puts an object over HTTPS and Each reads back
// its bytes; a client without the CA is refused at the handshake; the configuration
// names what is missing.
func TestStoreServesS3OverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreate(dir, pkix.Name{CommonName: "objectstore test CA"})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "store")
	if err := ca.Issue(base, pki.Request{CommonName: "localhost", Hosts: []string{"localhost", "127.0.0.1"}, Server: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Config{Listen: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "certFile and keyFile are required") {
		t.Fatalf("a store without a certificate: %v", err)
	}
	s, err := Start(Config{Listen: "127.0.0.1:0", CertFile: base + ".crt", KeyFile: base + ".key", Buckets: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })

	pem, err := os.ReadFile(filepath.Join(dir, pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	body := []byte("hello from a WAL segment")
	req, err := http.NewRequest(http.MethodPut, "https://"+s.Addr()+"/b/repo/archive/seg", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s", resp.Status)
	}
	var keys []string
	if err := s.Each("b", func(key string, got []byte) error {
		keys = append(keys, key)
		if !bytes.Equal(got, body) {
			t.Errorf("%s holds %q, want %q", key, got, body)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "repo/archive/seg" {
		t.Fatalf("keys %v", keys)
	}
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get("https://" + s.Addr() + "/b/repo/archive/seg"); err == nil {
		t.Fatal("a client without the CA was served")
	}
}
