// Package bindtest starts a real BIND 9 primary for tests: one zone, updatable with a
// TSIG key, in a temporary directory on a loopback port.
package bindtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/testenv"
)

// BIND is a running named.
type BIND struct {
	// Addr is host:port; KeyName and Secret (base64) sign updates and transfers.
	Addr, KeyName, Secret string
	// Zone is the zone it is primary for.
	Zone string

	named, dir string
	stop       func()
}

// Zone is the zone the server is primary for. It starts with an SOA, an NS, and two
// records hadron did not write: foreign A 203.0.113.9 and west.shop A 203.0.113.10.
const Zone = "example.test."

// Start runs named for Zone until the test ends; it skips (or fails under CI) without
// named.
func Start(t testing.TB) *BIND { return StartZone(t, Zone) }

// StartZone is Start for another zone (same records).
func StartZone(t testing.TB, zoneName string) *BIND {
	t.Helper()
	named := testenv.LookPath(t, "named", "/usr/sbin/named")
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // named may drop to its own user when started as root
	key := make([]byte, 32)
	rand.Read(key)
	b := &BIND{KeyName: "hadron-test.", Secret: base64.StdEncoding.EncodeToString(key), Zone: dns.Fqdn(zoneName), named: named, dir: dir}
	port := freePort(t)
	b.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	conf := fmt.Sprintf(`
key "%s" { algorithm hmac-sha256; secret "%s"; };
options {
	directory "%s";
	pid-file "%s/named.pid";
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-transfer { key "%s"; };
	dnssec-validation no;
};
zone "%s" { type primary; file "%s/zone.db"; allow-update { key "%s"; }; };
`, b.KeyName, b.Secret, dir, dir, port, b.KeyName, b.Zone, dir, b.KeyName)
	zone := `$TTL 300
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 10
@ IN NS ns.example.test.
ns IN A 127.0.0.1
foreign IN A 203.0.113.9
west.shop IN A 203.0.113.10
`
	for name, text := range map[string]string{"named.conf": conf, "zone.db": zone} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	b.Restart(t)
	t.Cleanup(b.Stop)
	return b
}

// Stop stops named (the zone and its journal stay for Restart).
func (b *BIND) Stop() {
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
}

// Restart starts named again on the same address and zone, and waits until it answers.
func (b *BIND) Restart(t testing.TB) {
	t.Helper()
	b.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, b.named, "-g", "-n", "1", "-c", filepath.Join(b.dir, "named.conf"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.stop = func() { cancel(); <-exited }
	deadline := time.Now().Add(20 * time.Second)
	// Over UDP and over TCP: named may answer on one before it listens on the other,
	// and zone transfers and large updates go over TCP (a loaded test machine saw an
	// AXFR refused right after the UDP answer).
	answers := func(net string) bool {
		m := new(dns.Msg)
		m.SetQuestion(b.Zone, dns.TypeSOA)
		c := &dns.Client{Net: net, Timeout: time.Second}
		r, _, err := c.Exchange(m, b.Addr)
		return err == nil && r.Rcode == dns.RcodeSuccess
	}
	for {
		if answers("udp") && answers("tcp") {
			return
		}
		select {
		case <-exited:
			t.Fatalf("named exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("named did not answer within 20s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	// A port free for both UDP and TCP.
	for range 20 {
		l, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.LocalAddr().(*net.UDPAddr).Port
		tl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			tl.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// Lookup asks named for name/type and returns the answer's values (after the type).
func (b *BIND) Lookup(t testing.TB, name string, qtype uint16) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, err := dns.Exchange(m, b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String())
		out = append(out, strings.Join(f[4:], " "))
	}
	return out
}
