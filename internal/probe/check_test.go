package probe

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/api/v1alpha1"
)

func check(t *testing.T, s Settings, o CheckerOptions, addr string) Result {
	t.Helper()
	c, err := NewChecker(s, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Check(ctx, addr)
}

func hostPort(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

func TestHTTPCheck(t *testing.T) {
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprint(w, "status: ready")
		case "/moved":
			http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
		default:
			http.Error(w, "nope", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := hostPort(srv.URL)
	base := SettingsOf(&v1alpha1.Health{Type: v1alpha1.ProbeHTTP, Path: "/healthz"})
	opts := CheckerOptions{Host: "shop.example.com"}
	cases := []struct {
		name   string
		mod    func(*Settings)
		ok     bool
		errHas string
	}{
		{"passes", func(*Settings) {}, true, ""},
		{"body matches", func(s *Settings) { s.BodyMatch = "ready$" }, true, ""},
		{"body does not match", func(s *Settings) { s.BodyMatch = "^down" }, false, "body does not match"},
		{"bad status", func(s *Settings) { s.Path = "/other" }, false, "status 503"},
		{"expected status", func(s *Settings) { s.Path = "/other"; s.ExpectStatus = []int32{503} }, true, ""},
		{"redirect is the site's answer, not followed", func(s *Settings) { s.Path = "/moved" }, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.mod(&s)
			r := check(t, s, opts, addr)
			if r.OK != c.ok || !strings.Contains(r.Err, c.errHas) {
				t.Fatalf("got %+v, want ok=%v err~%q", r, c.ok, c.errHas)
			}
			if !r.Reached {
				t.Fatalf("the server answered, but the result says it was not reached: %+v", r)
			}
		})
	}
	if hosts[0] != "shop.example.com" {
		t.Errorf("Host header %q, want the main name", hosts[0])
	}
	srv.Close()
	if r := check(t, base, opts, addr); r.OK || r.Err == "" || r.Reached {
		t.Fatalf("closed listener: %+v", r)
	}
}

func TestHTTPSCheckVerifiesCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s := SettingsOf(&v1alpha1.Health{Type: v1alpha1.ProbeHTTPS})
	// httptest's certificate is for example.com: the probe uses the main name as SNI
	// and verifies it.
	r := check(t, s, CheckerOptions{Host: "example.com", RootCAs: roots}, hostPort(srv.URL))
	if !r.OK || r.TLS == nil || r.TLS.NotAfter.IsZero() || !contains(r.TLS.Names, "example.com") {
		t.Fatalf("valid certificate: %+v %+v", r, r.TLS)
	}
	if r := check(t, s, CheckerOptions{Host: "shop.other.test", RootCAs: roots}, hostPort(srv.URL)); r.OK || !strings.Contains(r.Err, "certificate") {
		t.Fatalf("wrong name passed: %+v", r)
	}
	if r := check(t, s, CheckerOptions{Host: "example.com"}, hostPort(srv.URL)); r.OK {
		t.Fatalf("unknown authority passed: %+v", r)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	s := SettingsOf(&v1alpha1.Health{Type: v1alpha1.ProbeTCP})
	if r := check(t, s, CheckerOptions{}, addr); !r.OK {
		t.Fatalf("listening: %+v", r)
	}
	// Port overrides the load balancer's port.
	_, port, _ := net.SplitHostPort(addr)
	s.Port = int32(mustAtoi(port))
	if r := check(t, s, CheckerOptions{}, "127.0.0.1:1"); !r.OK {
		t.Fatalf("port override: %+v", r)
	}
	l.Close()
	if r := check(t, s, CheckerOptions{}, addr); r.OK {
		t.Fatal("closed listener passed")
	}
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func TestDNSCheck(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var rcode atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, int(rcode.Load()))
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	s := SettingsOf(&v1alpha1.Health{Type: v1alpha1.ProbeDNS})
	if r := check(t, s, CheckerOptions{Host: "shop.example.com"}, pc.LocalAddr().String()); !r.OK {
		t.Fatalf("answering server: %+v", r)
	}
	rcode.Store(dns.RcodeServerFailure)
	if r := check(t, s, CheckerOptions{Host: "shop.example.com"}, pc.LocalAddr().String()); r.OK || !strings.Contains(r.Err, "SERVFAIL") {
		t.Fatalf("SERVFAIL passed: %+v", r)
	}
}

func TestUnknownType(t *testing.T) {
	if _, err := NewChecker(Settings{Type: "icmp"}, CheckerOptions{}); err == nil {
		t.Fatal("icmp accepted")
	}
}
