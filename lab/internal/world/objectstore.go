package world

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/topology"
)

// objectStore is the lab's S3 server (`hadron-lab objectstore`), the demo mirror
// set's backup repository, in the witness's region. It keeps objects in memory, so it
// runs as long as the lab: a site's failure does not stop it (cut its links instead),
// and a lab restart loses the archive (the next scheduled check takes a new full
// backup).
type objectStore struct {
	cfg topology.Config
	dir Dir
	log *slog.Logger
	p   *proc
}

func (d Dir) ObjectStore() string { return d.path("objectstore") }

// start writes the store's certificate (from the lab's CA, for its address and every
// region's proxy), the repository's key and passphrase files (0600, new ones the
// first time only: a running lab's fleet keeps naming the same), starts the process
// and waits until it answers over TLS.
func (o *objectStore) start(ctx context.Context, labBinary string) error {
	dir := o.dir.ObjectStore()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	ca, err := pki.LoadOrCreate(o.dir.CA(), labCASubject)
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	base := filepath.Join(dir, "server")
	if err := ca.Reissue(base, pki.Request{CommonName: topology.ObjectStore, Orgs: []string{"hadron lab"}, Hosts: o.cfg.ObjectStoreHosts(), IPsAsNames: true, Server: true}); err != nil {
		return fmt.Errorf("object store: certificate: %w", err)
	}
	for _, name := range topology.ObjectStoreSecretFiles {
		if err := writeSecretOnce(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("object store: %w", err)
		}
	}
	if o.p == nil {
		o.p = &proc{name: "objectstore", path: labBinary, logPath: o.dir.ProcLog("objectstore"), log: o.log,
			args: []string{"objectstore", "--listen", o.cfg.ObjectStoreAddr(), "--cert", base + ".crt", "--key", base + ".key",
				"--bucket", topology.ObjectStoreBucket}}
	}
	if err := o.p.start(); err != nil {
		return err
	}
	return o.waitReady(ctx, filepath.Join(o.dir.CA(), pki.CACert))
}

// waitReady polls the store's HTTPS port until it answers with the lab's CA trusted.
func (o *objectStore) waitReady(ctx context.Context, caFile string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+o.cfg.ObjectStoreAddr()+"/"+topology.ObjectStoreBucket, nil)
		if err != nil {
			return fmt.Errorf("object store: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-o.p.exited():
			return fmt.Errorf("object store exited: see %s", o.dir.ProcLog("objectstore"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("object store did not answer on %s within 20s: %w", o.cfg.ObjectStoreAddr(), err)
		}
	}
}

func (o *objectStore) stop(ctx context.Context) {
	if o.p != nil {
		if err := o.p.stop(ctx, 5*time.Second); err != nil {
			o.log.Warn("stop object store", "err", err)
		}
	}
}

// writeSecretOnce writes a random hex secret to path (0600) unless it exists.
func writeSecretOnce(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(buf)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
