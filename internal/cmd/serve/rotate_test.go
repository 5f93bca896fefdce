package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	hapi "hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/pki"
)

// load counts the calls of one kind of client and what failed.
type load struct {
	name       string
	calls, bad atomic.Int64
	mu         sync.Mutex
	serial     *big.Int // the server certificate's serial seen last
	firstErr   error
}

func (l *load) done(serial *big.Int, err error) {
	l.calls.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.bad.Add(1)
		if l.firstErr == nil {
			l.firstErr = err
		}
		return
	}
	if serial != nil {
		l.serial = serial
	}
}

func (l *load) seen() *big.Int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.serial
}

// Certificates rotated on disk under load: API calls (each on a new TLS connection),
// etcd writes on a long-lived client, new etcd connections and new etcd clients all go
// on without a single failure, and afterwards both the API and etcd serve the new
// certificate — without restarting the daemon.
func TestRotateUnderLoad(t *testing.T) {
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	fleetText := strings.ReplaceAll(oneDaemonFleet, "127.0.220.41", "127.0.220.42")
	if err := os.WriteFile(fleetFile, []byte(fleetText), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := cli.LoadFleet(fleetFile)
	if err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "pki")
	if out, err := run(context.Background(), "-f", fleetFile, "--init-pki", pkiDir, "--cert-validity", "1h"); err != nil {
		t.Fatalf("--init-pki: %v\n%s", err, out)
	}
	ca := coord.PKI{Dir: pkiDir}
	site := ca.SiteBundle("solo")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, "-f", fleetFile, "--site", "solo", "--pki", site.Dir, "--data-dir", filepath.Join(dir, "data"))
		done <- err
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()

	pool, err := ca.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	opTLS, err := ca.OperatorBundle().ClientTLS(coord.OperatorName)
	if err != nil {
		t.Fatal(err)
	}
	const etcdAddr, apiURL = "127.0.220.42:2379", "https://127.0.220.42:7443/healthz"
	etcd, err := coord.NewClient(coord.ClientOptions{Endpoints: []string{"https://" + etcdAddr}, TLS: opTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	if err := coord.WaitReady(wctx, etcd); err != nil {
		t.Fatal(err)
	}
	wcancel()

	// Each API call dials anew, so each one is a handshake that a rotation could break.
	apiCall := func() (*big.Int, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		resp, err := c.Get(apiURL)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber, nil
	}
	coordtest.Eventually(t, 30*time.Second, "the API answers", func() bool { _, err := apiCall(); return err == nil })
	// A new connection to etcd with the operator's certificate, as etcdctl makes.
	etcdHandshake := func() (*big.Int, error) {
		conn, err := tls.Dial("tcp", etcdAddr, opTLS.Clone())
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
	}

	api, writes, handshakes := &load{name: "API calls"}, &load{name: "etcd writes"}, &load{name: "new etcd connections and clients"}
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	loop := func(l *load, call func(i int) (*big.Int, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; lctx.Err() == nil; i++ {
				serial, err := call(i)
				if lctx.Err() != nil {
					return
				}
				l.done(serial, err)
			}
		}()
	}
	loop(api, func(int) (*big.Int, error) { return apiCall() })
	loop(writes, func(i int) (*big.Int, error) {
		rctx, rcancel := context.WithTimeout(lctx, 2*time.Second)
		defer rcancel()
		_, err := etcd.Put(rctx, coord.Root+"rotate-test", fmt.Sprint(i))
		return nil, err
	})
	loop(handshakes, func(i int) (*big.Int, error) {
		if i%10 != 9 {
			return etcdHandshake()
		}
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{"https://" + etcdAddr}, TLS: opTLS.Clone(), DialTimeout: 2 * time.Second})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		rctx, rcancel := context.WithTimeout(lctx, 2*time.Second)
		defer rcancel()
		_, err = c.Put(rctx, coord.Root+"rotate-test-new-client", fmt.Sprint(i))
		return nil, err
	})

	first, err := pki.ReadCert(site.CertFile("solo"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // load before the first rotation
	var last *big.Int
	start := time.Now()
	for range 3 {
		rot, err := ca.Rotate(f, coord.RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rot {
			if r.Name == "solo" {
				last = r.Serial
			}
		}
		time.Sleep(1500 * time.Millisecond)
	}
	if last == nil || last.Cmp(first.SerialNumber) == 0 {
		t.Fatalf("rotation gave serial %v, was %v", last, first.SerialNumber)
	}
	coordtest.Eventually(t, 15*time.Second, "the API and etcd serve the newest certificate", func() bool {
		a, e := api.seen(), handshakes.seen()
		return a != nil && e != nil && a.Cmp(last) == 0 && e.Cmp(last) == 0
	})
	took := time.Since(start)
	stopLoad()
	wg.Wait()
	for _, l := range []*load{api, writes, handshakes} {
		t.Logf("%s: %d, %d failed over 3 rotations in %s", l.name, l.calls.Load(), l.bad.Load(), took.Round(time.Millisecond))
		if l.bad.Load() != 0 {
			t.Errorf("%s: %d of %d failed; first: %v", l.name, l.bad.Load(), l.calls.Load(), l.firstErr)
		}
		if l.calls.Load() < 20 {
			t.Errorf("%s: only %d calls: the load did not run", l.name, l.calls.Load())
		}
	}
	if got := api.seen(); got.Cmp(first.SerialNumber) == 0 {
		t.Errorf("API still serves the first certificate %x", got)
	}
	// A client that trusts only the CA verifies the new certificate for the daemon's
	// address (the SANs were issued again).
	leaf, err := pki.ReadCert(site.CertFile("solo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.220.42"}); err != nil {
		t.Errorf("rotated certificate: %v", err)
	}
	// Status and the metrics name the certificate in use: the new one.
	token, err := ca.Token()
	if err != nil {
		t.Fatal(err)
	}
	client := &hapi.Client{Addr: "127.0.220.42:7443", Token: token, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	st, err := client.Status(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Certificate; c == nil || c.Serial != leaf.SerialNumber.Text(16) || !c.NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("status certificate %+v, want serial %x expiring %s", st.Certificate, leaf.SerialNumber, leaf.NotAfter)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://127.0.220.42:7443/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`hadron_cert_expiry_seconds{site="solo"} %s`, strconv.FormatFloat(float64(leaf.NotAfter.Unix()), 'g', -1, 64))
	if !strings.Contains(string(body), want+"\n") {
		t.Errorf("metrics lack %q", want)
	}
}
