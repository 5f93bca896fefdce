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
	"time"

	"github.com/miekg/dns"

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
