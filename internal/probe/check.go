package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/api/v1alpha1"
)

// Result is the outcome of one check of one address.
type Result struct {
	OK  bool
	Err string
	// Reached says the target answered, whatever the answer.
	Reached bool
	// TLS describes the certificate an HTTPS check was served, when it got one.
	TLS *TLSInfo
}

// TLSInfo is what an HTTPS check reports about the served certificate.
type TLSInfo struct {
	Names    []string
	NotAfter time.Time
}

// Checker checks one address once. Every call opens its own connection, so a dead
// listener is never hidden behind a kept-alive one.
type Checker interface {
	Check(ctx context.Context, addr string) Result
}

// CheckerOptions carries what a check needs beyond the fleet's settings.
type CheckerOptions struct {
	// Host is the name clients use: the HTTP Host header, the TLS server name and the
	// DNS question of a dns check.
	Host string
	// RootCAs verifies HTTPS certificates; nil uses the system roots.
	RootCAs *x509.CertPool
}

// NewChecker returns the checker for s.
func NewChecker(s Settings, o CheckerOptions) (Checker, error) {
	switch s.Type {
	case v1alpha1.ProbeHTTP, v1alpha1.ProbeHTTPS:
		return newHTTPChecker(s, o)
	case v1alpha1.ProbeTCP:
		return tcpChecker{port: s.Port}, nil
	case v1alpha1.ProbeDNS:
		return dnsChecker{port: s.Port, name: o.Host}, nil
	}
	return nil, fmt.Errorf("probe type %q: %w", s.Type, ErrUnknownType)
}

// withPort replaces the port of addr when port is set.
func withPort(addr string, port int32) string {
	if port == 0 {
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

type tcpChecker struct{ port int32 }

func (c tcpChecker) Check(ctx context.Context, addr string) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", withPort(addr, c.port))
	if err != nil {
		return Result{Err: err.Error()}
	}
	conn.Close()
	return Result{OK: true}
}

type httpChecker struct {
	s      Settings
	o      CheckerOptions
	scheme string
	body   *regexp.Regexp
	client *http.Client
}

func newHTTPChecker(s Settings, o CheckerOptions) (*httpChecker, error) {
	c := &httpChecker{s: s, o: o, scheme: "http"}
	if s.Type == v1alpha1.ProbeHTTPS {
		c.scheme = "https"
	}
	if s.BodyMatch != "" {
		re, err := regexp.Compile(s.BodyMatch)
		if err != nil {
			return nil, fmt.Errorf("health bodyMatch: %w", err)
		}
		c.body = re
	}
	tr := &http.Transport{
		DisableKeepAlives: true,
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{ServerName: o.Host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
	}
	c.client = &http.Client{
		Transport: tr,
		// A redirect is an answer of the site itself; following it could probe another.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func (c *httpChecker) Check(ctx context.Context, addr string) Result {
	url := c.scheme + "://" + withPort(addr, c.s.Port) + c.s.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Result{Err: err.Error()}
	}
	if c.o.Host != "" {
		req.Host = c.o.Host
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return Result{Err: err.Error()}
	}
	defer resp.Body.Close()
	r := Result{Reached: true}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		r.TLS = &TLSInfo{Names: leaf.DNSNames, NotAfter: leaf.NotAfter}
	}
	if !statusOK(resp.StatusCode, c.s.ExpectStatus) {
		r.Err = fmt.Sprintf("status %d", resp.StatusCode)
		return r
	}
	if c.body != nil {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			r.Err = "read body: " + err.Error()
			return r
		}
		if !c.body.Match(b) {
			r.Err = "body does not match " + c.s.BodyMatch
			return r
		}
	}
	r.OK = true
	return r
}

func statusOK(code int, expect []int32) bool {
	if len(expect) == 0 {
		return code >= 200 && code < 400
	}
	for _, e := range expect {
		if int(e) == code {
			return true
		}
	}
	return false
}

// dnsChecker asks the address for the SOA of the checked name; any answer that is not
// SERVFAIL or REFUSED means the server is alive and serving.
type dnsChecker struct {
	port int32
	name string
}

func (c dnsChecker) Check(ctx context.Context, addr string) Result {
	name := c.name
	if name == "" {
		name = "."
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeSOA)
	cl := &dns.Client{Net: "udp"}
	in, _, err := cl.ExchangeContext(ctx, m, withPort(addr, c.port))
	if err != nil {
		return Result{Err: err.Error()}
	}
	if in.Rcode == dns.RcodeServerFailure || in.Rcode == dns.RcodeRefused {
		return Result{Reached: true, Err: "rcode " + dns.RcodeToString[in.Rcode]}
	}
	return Result{OK: true}
}
