package world

// This file is owned by the control-plane work (issue 6), kept apart from the rest of
// the supervisor: the hadron daemons of the lab's sites. The supervisor holds a
// *Daemons, calls Start once the fleet file is written, and Stop before the sites.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"hadron.dev/hadron/lab/internal/topology"
)

// Daemons runs `hadron serve` for every site of the lab: east, west and the witness
// each get a daemon on 127.0.N.40 (API :7443, etcd peer :2380 behind the daemon's relay,
// DNS :53), whose etcd members form one cluster over the lab's links. The PKI (a CA,
// one bundle per daemon, the operator's bundle, the API token) is created with
// `hadron serve --init-pki DIR/hadron-pki` before the first start, and each daemon is
// handed only its own bundle, DIR/hadron-pki/sites/<site> (no CA key), as a real site
// would be; `hadron status -f DIR/fleet.yaml --pki DIR/hadron-pki` then shows the
// daemons' view.
type Daemons struct {
	cfg    topology.Config
	dir    Dir
	binary string
	log    *slog.Logger

	mu    sync.Mutex
	procs map[string]*proc
	// stopped are the sites whose daemon `fail daemon` stopped: a crash restart
	// (`fail process hadron-SITE`) must not bring it back before `restore daemon`.
	stopped map[string]bool
}

func (d *Daemons) procOf(site string) *proc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.procs[site]
}

func (d *Daemons) setStopped(site string, v bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped[site] = v
}

func (d *Daemons) isStopped(site string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped[site]
}

// NewDaemons prepares the daemons; binary is the hadron CLI.
func NewDaemons(cfg topology.Config, dir Dir, binary string, log *slog.Logger) *Daemons {
	return &Daemons{cfg: cfg, dir: dir, binary: binary, log: log, procs: map[string]*proc{}, stopped: map[string]bool{}}
}

// PKIDir is where the CA, the daemons' bundles and the API token are.
func (d *Daemons) PKIDir() string { return filepath.Join(string(d.dir), "hadron-pki") }

// SiteBundle is the directory site's daemon reads its certificate from.
func (d *Daemons) SiteBundle(site string) string { return filepath.Join(d.PKIDir(), "sites", site) }

func (d *Daemons) dataDir(site string) string {
	return filepath.Join(string(d.dir), "daemons", site)
}

// Start creates the PKI when missing, starts every daemon and waits until each one's
// API answers. The fleet file must exist.
func (d *Daemons) Start(ctx context.Context, timeout time.Duration) error {
	if err := d.InitPKI(ctx); err != nil {
		return err
	}
	for _, s := range d.cfg.Indexed() {
		if err := d.StartSite(s.Name); err != nil {
			return err
		}
	}
	return d.WaitHealthy(ctx, timeout)
}

// InitPKI creates the daemons' CA, bundles and API token from the fleet file when
// they are missing.
func (d *Daemons) InitPKI(ctx context.Context) error {
	if err := os.MkdirAll(d.dir.Logs(), 0o755); err != nil {
		return fmt.Errorf("daemons: %w", err)
	}
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	out, err := exec.CommandContext(ictx, d.binary, "serve", "-f", d.dir.Fleet(), "--init-pki", d.PKIDir()).CombinedOutput()
	cancel()
	if err != nil {
		return fmt.Errorf("daemons: hadron serve --init-pki: %w: %s", err, out)
	}
	return nil
}

// WaitHealthy waits until every site's daemon API answers /healthz at its address.
func (d *Daemons) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(d.PKIDir(), "ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(ca) {
		return fmt.Errorf("daemons: CA of %s: %v", d.PKIDir(), err)
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	for _, s := range d.cfg.Indexed() {
		if err := d.waitHealthy(ctx, hc, s, timeout); err != nil {
			return err
		}
	}
	return nil
}

// StartSite starts (or restarts) one site's daemon. A daemon in a pod is its
// StatefulSet's: it goes and comes back with its node.
func (d *Daemons) StartSite(site string) error {
	if d.cfg.DaemonPods {
		return nil
	}
	s, ok := d.cfg.Site(site)
	if !ok {
		return fmt.Errorf("daemons: no site %q", site)
	}
	d.mu.Lock()
	p := d.procs[site]
	if p == nil {
		p = &proc{name: "hadron-" + site, path: d.binary,
			args:    []string{"serve", "-f", d.dir.Fleet(), "--site", s.Name, "--pki", d.SiteBundle(s.Name), "--data-dir", d.dataDir(s.Name)},
			logPath: d.dir.ProcLog("hadron-" + s.Name), log: d.log}
		d.procs[site] = p
	}
	d.mu.Unlock()
	return p.start()
}

// StopSite stops one site's daemon (SIGTERM: it resigns leadership on its way out).
func (d *Daemons) StopSite(ctx context.Context, site string, grace time.Duration) error {
	if d.cfg.DaemonPods {
		return nil
	}
	d.mu.Lock()
	p := d.procs[site]
	d.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(ctx, grace)
}

// Stop stops every daemon.
func (d *Daemons) Stop(ctx context.Context) error {
	var errs []error
	for _, s := range d.cfg.Indexed() {
		errs = append(errs, d.StopSite(ctx, s.Name, 5*time.Second))
	}
	return errors.Join(errs...)
}

func (d *Daemons) waitHealthy(ctx context.Context, hc *http.Client, s topology.Site, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "https://" + s.DaemonAPI() + "/healthz"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			where := d.dir.ProcLog("hadron-" + s.Name)
			if d.cfg.DaemonPods {
				where = "kubectl logs -n " + DaemonNamespace + " statefulset/" + daemonRelease
			}
			return fmt.Errorf("daemon %s: API %s not answering: %v (log: %s)", s.Name, url, err, where)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
