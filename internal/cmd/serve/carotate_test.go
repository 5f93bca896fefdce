package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/pki"
)

// daemonProc is one `hadron serve` run in-process.
type daemonProc struct {
	cancel context.CancelFunc
	done   chan error
}

func startServe(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &daemonProc{cancel: cancel, done: make(chan error, 1)}
	go func() {
		out, err := run(ctx, args...)
		if err != nil {
			t.Logf("serve: %v\n%s", err, out)
		}
		p.done <- err
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *daemonProc) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
}

// The documented path to a new CA (docs/design/certificates.md): trust both CAs and
// restart, take the new CA's certificates without restart, then trust only the new
// CA and restart. At each stage the clients of the CA being trusted get in, and at the
// end a certificate of the old CA is refused.
func TestCARotationProcedure(t *testing.T) {
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(strings.ReplaceAll(oneDaemonFleet, "127.0.220.41", "127.0.220.43")), 0o644); err != nil {
		t.Fatal(err)
	}
	oldCA, newCA := coord.PKI{Dir: filepath.Join(dir, "old")}, coord.PKI{Dir: filepath.Join(dir, "new")}
	for _, p := range []coord.PKI{oldCA, newCA} {
		if out, err := run(context.Background(), "-f", fleetFile, "--init-pki", p.Dir); err != nil {
			t.Fatalf("--init-pki: %v\n%s", err, out)
		}
	}
	site := oldCA.SiteBundle("solo") // the site's bundle throughout
	serve := func() *daemonProc {
		return startServe(t, "-f", fleetFile, "--site", "solo", "--pki", site.Dir, "--data-dir", filepath.Join(dir, "data"))
	}
	const etcdAddr, apiURL = "127.0.220.43:2379", "https://127.0.220.43:7443/healthz"
	// reach says whether a client trusting ca and presenting the operator's certificate
	// of op reaches the API and writes to etcd.
	reach := func(ca, op coord.PKI) error {
		pool, err := ca.CertPool()
		if err != nil {
			return err
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 2 * time.Second}).Get(apiURL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		cfg, err := op.OperatorBundle().ClientTLS(coord.OperatorName)
		if err != nil {
			return err
		}
		cfg.RootCAs = pool
		c, err := coord.NewClient(coord.ClientOptions{Endpoints: []string{"https://" + etcdAddr}, TLS: cfg})
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = c.Put(ctx, coord.Root+"ca-rotation", "x")
		return err
	}
	eventually := func(what string, ca, op coord.PKI) {
		t.Helper()
		var last error
		coordtest.Eventually(t, 30*time.Second, what, func() bool { last = reach(ca, op); return last == nil })
	}
	writeAll := func(name string, b []byte, to ...coord.PKI) {
		t.Helper()
		for _, p := range to {
			if err := os.WriteFile(filepath.Join(p.Dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyPair := func(from, to coord.PKI, name string) {
		t.Helper()
		for _, f := range []string{from.CertFile(name), from.KeyFile(name)} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to.Dir, filepath.Base(f)), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	d := serve()
	eventually("the old CA's clients get in", oldCA, oldCA)

	// 1. Trust both (old first: the old CA directory keeps signing with the old key),
	// restart.
	oldPEM, _ := os.ReadFile(oldCA.CAFile())
	newPEM, _ := os.ReadFile(newCA.CAFile())
	both := append(append([]byte{}, oldPEM...), newPEM...)
	writeAll("ca.crt", both, oldCA, site, oldCA.OperatorBundle())
	d.stop()
	d = serve()
	eventually("after trusting both, the old CA's clients get in", oldCA, oldCA)
	oldCert, err := pki.ReadCert(oldCA.SiteBundle("solo").CAFile()) // the first of both
	if err != nil {
		t.Fatal(err)
	}
	if ca, err := pki.Load(oldCA.Dir); err != nil || !ca.Cert.Equal(oldCert) {
		t.Fatalf("the old CA directory with both certificates does not sign with the old CA: %v", err)
	}

	// 2. The new CA's certificate for the site, taken without restart; clients of
	// either CA get in.
	copyPair(newCA.SiteBundle("solo"), site, "solo")
	eventually("the new certificate served, new CA's operator accepted", newCA, newCA)
	if err := reach(newCA, oldCA); err != nil {
		t.Errorf("an old-CA operator during the change: %v", err)
	}

	// 3. Only the new CA, restart: an old-CA client certificate is refused.
	writeAll("ca.crt", newPEM, site)
	d.stop()
	d = serve()
	eventually("after the change, the new CA's clients get in", newCA, newCA)
	if err := reach(newCA, oldCA); err == nil {
		t.Error("an operator certificate of the old CA still writes to etcd")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(oldPEM)
	leaf, err := pki.ReadCert(site.CertFile("solo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("the site still serves a certificate of the old CA")
	}
	d.stop()
}
