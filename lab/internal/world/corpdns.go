package world

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/internal/gslb/dnsendpoint"

	"hadron.dev/hadron/lab/internal/topology"
)

// corpDNS is the company's own DNS of `dns: bind` and `dns: external-dns`: a BIND 9
// primary for the demo's zone that hadron does not run — the leader updates it by RFC
// 2136 (bind), or an external-dns in every workload site does from the DNSEndpoint
// objects hadron writes there (external-dns). Clients of a drill ask it instead of
// hadron's name servers.
type corpDNS struct {
	cfg   topology.Config
	dir   Dir
	log   *slog.Logger
	named *proc
	// extdns are the external-dns processes, one per workload site (they die with it).
	extdns map[string]*proc
}

func (d Dir) corpDNS() string { return d.path("corp-dns") }

// TSIGFile holds the base64 secret of the company DNS's update key.
func (d Dir) TSIGFile() string { return d.path("corp-dns", "tsig.key") }

func newCorpDNS(cfg topology.Config, dir Dir, log *slog.Logger) *corpDNS {
	return &corpDNS{cfg: cfg, dir: dir, log: log, extdns: map[string]*proc{}}
}

// start writes named's configuration (a new key each lab) and starts it.
func (c *corpDNS) start(ctx context.Context) error {
	named, err := exec.LookPath("named")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/named"); serr != nil {
			return fmt.Errorf("company DNS: named not found (install bind9: scripts/install-deps.sh): %w", err)
		}
		named = "/usr/sbin/named"
	}
	dir := c.dir.corpDNS()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("company DNS: %w", err)
	}
	os.Chmod(dir, 0o777) // named may drop to its own user when started as root
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("company DNS: key: %w", err)
	}
	secret := base64.StdEncoding.EncodeToString(key)
	if err := os.WriteFile(c.dir.TSIGFile(), []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("company DNS: key: %w", err)
	}
	zone := dns.Fqdn(topology.DemoZone)
	conf := fmt.Sprintf(`key "%[1]s" { algorithm hmac-sha256; secret "%[2]s"; };
options {
	directory "%[3]s";
	pid-file "%[3]s/named.pid";
	listen-on port %[6]d { %[4]s; };
	listen-on-v6 { none; };
	recursion no;
	allow-transfer { key "%[1]s"; };
	dnssec-validation no;
};
zone "%[5]s" { type primary; file "%[3]s/zone.db"; allow-update { key "%[1]s"; }; };
`, topology.CorpTSIGKey, secret, dir, c.cfg.CorpDNSIP(), zone, c.cfg.CorpDNSPort())
	zoneText := fmt.Sprintf("$TTL 60\n@ IN SOA ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 5\n@ IN NS ns.%[1]s\nns IN A %[2]s\n", zone, c.cfg.CorpDNSIP())
	for name, text := range map[string]string{"named.conf": conf, "zone.db": zoneText} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("company DNS: %w", err)
		}
	}
	// A zone journal of an earlier lab would replay its records onto the new zone.
	os.Remove(filepath.Join(dir, "zone.db.jnl"))
	c.named = &proc{name: "corp-dns", path: named, args: []string{"-g", "-n", "1", "-c", filepath.Join(dir, "named.conf")},
		logPath: c.dir.ProcLog("corp-dns"), log: c.log}
	if err := c.named.start(); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := new(dns.Msg)
		m.SetQuestion(zone, dns.TypeSOA)
		cl := &dns.Client{Timeout: time.Second}
		if r, _, err := cl.ExchangeContext(ctx, m, c.cfg.CorpDNS()); err == nil && r.Rcode == dns.RcodeSuccess {
			return nil
		}
		select {
		case <-c.named.exited():
			return fmt.Errorf("company DNS: named exited: see %s", c.dir.ProcLog("corp-dns"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("company DNS: named did not answer within 20s")
		}
	}
}

func (c *corpDNS) stop(ctx context.Context) {
	for _, p := range c.extdns {
		_ = p.stop(ctx, 2*time.Second)
	}
	if c.named != nil {
		_ = c.named.stop(ctx, 2*time.Second)
	}
}

// ExternalDNSVersion is the external-dns release `make external-dns` builds.
const ExternalDNSVersion = "v0.19.0"

// externalDNSBinary finds external-dns beside hadron, then on PATH.
func externalDNSBinary(hadron string) (string, error) {
	beside := filepath.Join(filepath.Dir(hadron), "external-dns")
	if _, err := os.Stat(beside); err == nil {
		return beside, nil
	}
	if p, err := exec.LookPath("external-dns"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("external-dns not found beside %s or on PATH: build it with `make external-dns` (sigs.k8s.io/external-dns %s; minutes, once)", hadron, ExternalDNSVersion)
}

// startExternalDNS runs an external-dns for site's cluster: it reads the DNSEndpoint
// objects hadron writes there and writes them to the company DNS (rfc2136, TSIG,
// zone transfers to read). Every site's external-dns has the same owner id, so either
// one may update what the other wrote; each dies with its site. When the site comes
// back (restore), before it starts, `hadron dns scrub` takes the main names out of the site's objects, as the init
// container of an external-dns Deployment would: a site coming back after it was lost
// holds the objects as they were before, and its external-dns would move the names
// back to it. With --policy=upsert-only an object that stopped naming a record never
// deletes it.
func (c *corpDNS) startExternalDNS(ctx context.Context, site, siteDir, hadron string, restore bool) error {
	bin, err := externalDNSBinary(hadron)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", siteKubeconfig(siteDir))
	if err != nil {
		return fmt.Errorf("external-dns at %s: %w", site, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("external-dns at %s: %w", site, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = dyn.Resource(crdGVR).Create(cctx, dnsendpoint.CRD(), metav1.CreateOptions{})
	cancel()
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("external-dns at %s: DNSEndpoint CRD: %w", site, err)
	}
	secret, err := os.ReadFile(c.dir.TSIGFile())
	if err != nil {
		return fmt.Errorf("external-dns at %s: %w", site, err)
	}
	top, _ := c.cfg.Site(site)
	if restore {
		sctx, scancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(sctx, hadron, "dns", "scrub", "-f", c.dir.Fleet(), "--provider", topology.CorpProvider,
			"--site", site, "--region", top.Region).CombinedOutput()
		scancel()
		if err != nil {
			return fmt.Errorf("external-dns at %s: hadron dns scrub: %w: %s", site, err, out)
		}
		c.log.Info("site's DNSEndpoints scrubbed before its external-dns starts", "site", site, "plan", strings.TrimSpace(string(out)))
	}
	p := c.extdns[site]
	if p == nil {
		p = &proc{name: "external-dns-" + site, path: bin, logPath: c.dir.ProcLog("external-dns-" + site), log: c.log,
			args: []string{"--source=crd", "--crd-source-apiversion=externaldns.k8s.io/v1alpha1", "--crd-source-kind=DNSEndpoint",
				"--provider=rfc2136", "--rfc2136-host=" + c.cfg.CorpDNSIP(), fmt.Sprintf("--rfc2136-port=%d", c.cfg.CorpDNSPort()),
				"--rfc2136-zone=" + topology.DemoZone, "--rfc2136-tsig-keyname=" + topology.CorpTSIGKey,
				"--rfc2136-tsig-secret-alg=hmac-sha256", "--rfc2136-tsig-axfr",
				"--registry=txt", "--txt-owner-id=" + topology.CorpOwner + "-external-dns", "--domain-filter=" + topology.DemoZone,
				"--kubeconfig=" + siteKubeconfig(siteDir), "--policy=upsert-only", "--interval=1m", "--events", "--min-event-sync-interval=1s",
				// Its metrics listen in the site's range: one per site on one machine.
				"--metrics-address=" + top.ExternalDNSMetrics()},
			// The secret goes in the environment (external-dns reads every flag from
			// EXTERNAL_DNS_<FLAG>), never on a command line that ps shows.
			env: []string{"EXTERNAL_DNS_RFC2136_TSIG_SECRET=" + strings.TrimSpace(string(secret))}}
		c.extdns[site] = p
	}
	return p.start()
}

// stopExternalDNS stops site's external-dns (with its site).
func (c *corpDNS) stopExternalDNS(ctx context.Context, site string, grace time.Duration) {
	if p := c.extdns[site]; p != nil {
		_ = p.stop(ctx, grace)
	}
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
