package rfc2136

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

// bind is a real BIND 9 primary for one zone, in a temporary directory on loopback.
type bind struct {
	addr, keyName, secret string
}

const testZone = "example.test."

func startBIND(t *testing.T) *bind {
	t.Helper()
	named := testenv.LookPath(t, "named", "/usr/sbin/named")
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // named may drop to its own user when started as root
	key := make([]byte, 32)
	rand.Read(key)
	b := &bind{keyName: "hadron-test.", secret: base64.StdEncoding.EncodeToString(key)}
	port := freePort(t)
	b.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
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
`, b.keyName, b.secret, dir, dir, port, b.keyName, testZone, dir, b.keyName)
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
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, named, "-g", "-n", "1", "-c", filepath.Join(dir, "named.conf"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := new(dns.Msg)
		m.SetQuestion(testZone, dns.TypeSOA)
		if r, err := dns.Exchange(m, b.addr); err == nil && r.Rcode == dns.RcodeSuccess {
			return b
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

func freePort(t *testing.T) int {
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

// lookup asks BIND for name/type and returns the answer's values, sorted.
func (b *bind) lookup(t *testing.T, name string, qtype uint16) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, err := dns.Exchange(m, b.addr)
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
