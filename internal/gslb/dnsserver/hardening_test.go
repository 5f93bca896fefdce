package dnsserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
)

// bigServer serves a zone whose big.gslb.test A answer has 120 addresses (about
// 2,000 bytes), on loopback with the given rate limit, until the test ends.
func bigServer(t *testing.T, rrl RateLimit) *Server {
	t.Helper()
	var lbs strings.Builder
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&lbs, "    - address: 10.9.%d.%d:443\n", i/250, i%250+1)
	}
	yaml := `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: many}
spec:
  region: ap
  loadBalancers:
` + lbs.String() + `---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: big}
spec:
  namespace: big
  policy: {mode: active-passive, activeSite: many}
  dns: {zone: gslb.test, name: big.gslb.test}
`
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Update(gslb.State{Apps: map[string]gslb.AppState{}}); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Config{Addr: "127.0.0.1:0", Engine: e, RRL: rrl, Log: discard, Sockets: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// udpExchange sends q over UDP and returns the reply with its size on the wire.
func udpExchange(t *testing.T, addr string, q *dns.Msg) (*dns.Msg, int) {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pkt, _ := q.Pack()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r, n
}

// A client offering 4096 bytes over UDP gets at most the 1232 hadron advertises, with
// TC set, whatever path answers; over TCP it gets the whole answer.
func TestUDPAnswersCappedAtAdvertisedSize(t *testing.T) {
	s := bigServer(t, RateLimit{})
	for _, bufsize := range []uint16{1232, 1400, 4096, 65000} {
		q := new(dns.Msg)
		q.SetQuestion("big.gslb.test.", dns.TypeA)
		q.SetEdns0(bufsize, false)
		r, size := udpExchange(t, s.Addr(), q)
		if !r.Truncated || size > ednsSize {
			t.Errorf("bufsize %d: TC %v, %d bytes; want TC and at most %d", bufsize, r.Truncated, size, ednsSize)
		}
		if r.IsEdns0() == nil || r.IsEdns0().UDPSize() != ednsSize {
			t.Errorf("bufsize %d: reply's OPT %v, want udp %d", bufsize, r.IsEdns0(), ednsSize)
		}
	}
	q := new(dns.Msg)
	q.SetQuestion("big.gslb.test.", dns.TypeA)
	q.SetEdns0(4096, false)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(q, s.Addr())
	if err != nil || r.Truncated || len(r.Answer) != 120 {
		t.Fatalf("over TCP: %v answers, TC %v, %v; want all 120", len(r.Answer), r.Truncated, err)
	}

	// The same through dig, the client operators use.
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed (make deps)")
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	out, err := exec.Command("dig", "@"+host, "-p", port, "+bufsize=4096", "+ignore", "+tries=1", "big.gslb.test", "A").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`MSG SIZE\s+rcvd: (\d+)`).FindStringSubmatch(string(out))
	flags := regexp.MustCompile(`(?m)^;; flags: ([a-z ]*);`).FindStringSubmatch(string(out))
	if m == nil || flags == nil {
		t.Fatalf("dig output:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n > ednsSize || !strings.Contains(flags[1], "tc") {
		t.Fatalf("dig +bufsize=4096: %s bytes, flags %q; want at most %d and tc\n%s", m[1], flags[1], ednsSize, out)
	}
}

// The server takes no dynamic updates (RFC 2136): its records come from the fleet
// and etcd only. An UPDATE, signed or not, is answered NOTIMP and changes nothing.
func TestUpdatesAreNotImplemented(t *testing.T) {
	s := bigServer(t, RateLimit{})
	u := new(dns.Msg)
	u.SetUpdate("gslb.test.")
	rr, _ := dns.NewRR("evil.gslb.test. 60 IN A 203.0.113.66")
	u.Insert([]dns.RR{rr})
	r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(u, s.Addr())
	if err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Fatalf("unsigned UPDATE over UDP: %v, %v; want NOTIMP", r, err)
	}
	if r, _, err = (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(u, s.Addr()); err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Fatalf("unsigned UPDATE over TCP: %v, %v; want NOTIMP", r, err)
	}

	if _, err := exec.LookPath("nsupdate"); err != nil {
		t.Skip("nsupdate not installed (make deps)")
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	script := fmt.Sprintf("server %s %s\nzone gslb.test\nupdate add evil.gslb.test. 60 A 203.0.113.66\nsend\n", host, port)
	for _, args := range [][]string{
		{"-t", "2"},
		{"-t", "2", "-y", "hmac-sha256:hadron-test:" + "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		{"-t", "2", "-v"}, // over TCP
	} {
		cmd := exec.Command("nsupdate", args...)
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "NOTIMP") {
			t.Errorf("nsupdate %v: %v\n%s\nwant a failure with NOTIMP", args, err, out)
		}
	}
	q := new(dns.Msg)
	q.SetQuestion("evil.gslb.test.", dns.TypeA)
	if r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, s.Addr()); err != nil || r.Rcode != dns.RcodeNameError {
		t.Fatalf("evil.gslb.test after the updates: %v, %v; want NXDOMAIN", r, err)
	}
}

// A flood from one address with the default limit: the first Rate answers in a burst
// go out, then every second limited one is slipped (TC, empty) and the rest dropped.
func TestDefaultRateLimitUnderFlood(t *testing.T) {
	s := bigServer(t, DefaultRateLimit)
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 4000
	q := new(dns.Msg)
	q.SetQuestion("gslb.test.", dns.TypeSOA)
	start := time.Now()
	// Paced in bursts of 50 (still some 30 times the limit): unpaced, on a busy machine
	// the kernel dropped most of the flood before the server read it, and the server
	// never had a limited query to slip.
	go func() {
		for i := range n {
			q.Id = uint16(i)
			pkt, _ := q.Pack()
			conn.Write(pkt)
			if i%50 == 49 {
				time.Sleep(500 * time.Microsecond)
			}
		}
	}()
	var answered, slipped int
	buf := make([]byte, 65535)
	for {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		m, err := conn.Read(buf)
		if err != nil {
			break
		}
		r := new(dns.Msg)
		if r.Unpack(buf[:m]) != nil {
			continue
		}
		if r.Truncated && len(r.Answer) == 0 {
			slipped++
		} else {
			answered++
		}
	}
	elapsed := time.Since(start) - time.Second
	dropped := n - answered - slipped
	t.Logf("%d queries in %v: %d answered, %d slipped, %d dropped or lost", n, elapsed.Round(time.Millisecond), answered, slipped, dropped)
	limit := DefaultRateLimit.Rate + int(float64(DefaultRateLimit.Rate)*elapsed.Seconds()) + 10
	if answered > limit || slipped == 0 || dropped == 0 {
		t.Fatalf("answered %d (limit %d), slipped %d, dropped %d: want the limit held, some slipped and some dropped", answered, limit, slipped, dropped)
	}
}
