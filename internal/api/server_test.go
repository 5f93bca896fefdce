package api_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/runbook"
)

// selfSigned returns a server TLS configuration for 127.0.0.1 and a client one that
// trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "api-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// tokens of the role tests: secret → identity.
var staff = verifier{
	"viewer-secret":    {Name: "viewer", Roles: []apitoken.Role{apitoken.Read}},
	"ops-secret":       {Name: "ops", Roles: []apitoken.Role{apitoken.Operate}},
	"peer-secret":      {Name: "peer", Roles: []apitoken.Role{apitoken.Daemon}},
	"admin-secret":     {Name: "admin", Roles: []apitoken.Role{apitoken.Admin}},
	"bootstrap-secret": {Name: apitoken.Bootstrap, Roles: apitoken.BootstrapRoles},
}

// whoSeen records the decider each handler was given.
type whoSeen struct {
	mu   sync.Mutex
	last string
}

func (w *whoSeen) set(s string) { w.mu.Lock(); w.last = s; w.mu.Unlock() }
func (w *whoSeen) get() string  { w.mu.Lock(); defer w.mu.Unlock(); return w.last }

// every handler, answering at once.
func allHandlers(seen *whoSeen) api.Handlers {
	rec := &runbook.Record{ID: "r1", App: "shop"}
	decide := func(_ context.Context, _, _ string, d api.RunDecision) (*runbook.Record, error) {
		seen.set(d.Who)
		return rec, nil
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	ui := map[string]http.Handler{}
	for pattern := range api.RouteRoles() {
		if strings.HasPrefix(pattern, "GET /ui") || strings.HasPrefix(pattern, "POST /ui/runs") {
			ui[pattern] = ok
		}
	}
	return api.Handlers{
		UI:      ui,
		Status:  func(context.Context) api.Status { return api.Status{Daemon: "east"} },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hadron_up 1") }),
		Runbooks: &api.RunbookHandlers{
			Start: func(_ context.Context, req api.RunRequest) (*runbook.Record, error) {
				seen.set(req.Who)
				return rec, nil
			},
			Get:     func(context.Context, string, string) (*runbook.Record, error) { return rec, nil },
			History: func(context.Context, string) ([]runbook.Record, error) { return nil, nil },
			Resume:  decide, Abort: decide,
			Preview: func(context.Context, api.RunRequest) (*runbook.Preview, error) { return &runbook.Preview{}, nil },
			Record: func(_ context.Context, r runbook.Record) ([]runbook.Record, error) {
				seen.set(r.Who)
				return []runbook.Record{r}, nil
			},
		},
		Tokens: &api.TokenHandlers{
			Create: func(_ context.Context, req api.TokenRequest, by string) (apitoken.Token, string, error) {
				seen.set(by)
				return apitoken.Token{Name: req.Name, Roles: req.Roles}, "s", nil
			},
			List:   func(context.Context) ([]apitoken.Token, error) { return nil, nil },
			Revoke: func(_ context.Context, _, by string) error { seen.set(by); return nil },
		},
	}
}

func start(t *testing.T, cfg api.ServerConfig, h api.Handlers) string {
	t.Helper()
	srv, err := api.Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr()
}

// call sends one request and returns the status and body.
func call(t *testing.T, hc *http.Client, method, url, secret, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// concrete is a request path for a route pattern.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("{app}", "shop", "{id}", "r1", "{name}", "viewer", "{profile}", "heap", "{$}", "")
	return method, r.Replace(path)
}

// Every route of the table, called over TLS with a token of each role: the token's
// roles grant the route's (200) or the answer is 403 naming the role needed and the
// token's; no token is 401 except on the open probes. Whatever "who" a body claims,
// the handler gets the token's name.
func TestEveryRouteChecksItsRole(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	seen := &whoSeen{}
	addr := start(t, api.ServerConfig{Addr: "127.0.0.1:0", TLS: srvTLS, Verifier: staff}, allHandlers(seen))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: 5 * time.Second}
	body := `{"app":"shop","kind":"switchover","to":"west","who":"mallory","name":"x","roles":["read"]}`
	for pattern, need := range api.RouteRoles() {
		method, path := concrete(pattern)
		if code, _ := call(t, hc, method, "https://"+addr+path, "", body); (need == "") != (code == http.StatusOK) || (need != "" && code != http.StatusUnauthorized) {
			t.Errorf("%s without a token: HTTP %d", pattern, code)
		}
		if code, _ := call(t, hc, method, "https://"+addr+path, "forged", body); need != "" && code != http.StatusUnauthorized {
			t.Errorf("%s with an unknown token: HTTP %d, want 401", pattern, code)
		}
		for secret, id := range staff {
			seen.set("")
			code, msg := call(t, hc, method, "https://"+addr+path, secret, body)
			if need == "" || apitoken.Grants(id.Roles, need) {
				if code != http.StatusOK {
					t.Errorf("%s as %s: HTTP %d %s, want 200", pattern, id.Name, code, msg)
				}
				if w := seen.get(); w != "" && w != id.Name {
					t.Errorf("%s as %s: the handler was told the caller is %q", pattern, id.Name, w)
				}
				continue
			}
			want := fmt.Sprintf("forbidden: %s %s needs role %s; token %q has %s", method, path, need, id.Name, apitoken.JoinRoles(id.Roles))
			if code != http.StatusForbidden || msg != want {
				t.Errorf("%s as %s: HTTP %d %q, want 403 %q", pattern, id.Name, code, msg, want)
			}
			if w := seen.get(); w != "" {
				t.Errorf("%s as %s: a refused request reached its handler", pattern, id.Name)
			}
		}
	}
	// The example of the docs, through the client the CLI uses.
	cl := &api.Client{Addr: addr, Token: "viewer-secret", TLS: cliTLS}
	_, err := cl.StartRun(context.Background(), api.RunRequest{App: "shop", Kind: runbook.Switchover, To: "west"})
	if want := `HTTP 403: forbidden: POST /v1/runbooks needs role operate; token "viewer" has read`; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("a read token's switchover: %v, want ...%s", err, want)
	}
	// A switchover by ops is recorded as ops, not as the body's mallory.
	seen.set("")
	if _, err := (&api.Client{Addr: addr, Token: "ops-secret", TLS: cliTLS}).StartRun(context.Background(),
		api.RunRequest{App: "shop", Kind: runbook.Switchover, To: "west", Who: "mallory"}); err != nil || seen.get() != "ops" {
		t.Fatalf("ops's switchover: %v, recorded as %q", err, seen.get())
	}
}

// With ProbesNeedToken, /metrics and /healthz need a read token; without, they are open.
func TestProbesNeedTokenWhenAsked(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: 5 * time.Second}
	for _, closed := range []bool{false, true} {
		addr := start(t, api.ServerConfig{Addr: "127.0.0.1:0", TLS: srvTLS, Verifier: staff, ProbesNeedToken: closed}, allHandlers(&whoSeen{}))
		for _, path := range []string{"/metrics", "/healthz"} {
			code, _ := call(t, hc, "GET", "https://"+addr+path, "", "")
			if want := map[bool]int{false: 200, true: 401}[closed]; code != want {
				t.Errorf("ProbesNeedToken %v, %s without a token: HTTP %d, want %d", closed, path, code, want)
			}
			if code, body := call(t, hc, "GET", "https://"+addr+path, "viewer-secret", ""); code != 200 || body == "" {
				t.Errorf("ProbesNeedToken %v, %s with a read token: HTTP %d %q", closed, path, code, body)
			}
		}
	}
}

// A body over 64 KiB is refused with 413 before any handler runs; a malformed one 400.
func TestRequestBodyIsCapped(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	seen := &whoSeen{}
	addr := start(t, api.ServerConfig{Addr: "127.0.0.1:0", TLS: srvTLS, Verifier: staff}, allHandlers(seen))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: 5 * time.Second}
	huge := `{"app":"shop","kind":"switchover","to":"west","who":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, path := range []string{"/v1/runbooks", "/v1/runbooks/preview", "/v1/runbooks/shop/r1/resume", "/v1/ledger", "/v1/tokens"} {
		seen.set("")
		if code, msg := call(t, hc, "POST", "https://"+addr+path, "bootstrap-secret", huge); code != http.StatusRequestEntityTooLarge || seen.get() != "" {
			t.Errorf("POST %s with 70 KiB: HTTP %d %q (handler saw %q), want 413", path, code, msg, seen.get())
		}
		if code, _ := call(t, hc, "POST", "https://"+addr+path, "bootstrap-secret", `{"app":`); code != http.StatusBadRequest {
			t.Errorf("POST %s with a cut body: HTTP %d, want 400", path, code)
		}
	}
	// Just under the cap is read whole.
	fits := `{"app":"shop","kind":"switchover","to":"west","who":"` + strings.Repeat("x", 60<<10) + `"}`
	if code, msg := call(t, hc, "POST", "https://"+addr+"/v1/runbooks", "ops-secret", fits); code != 200 || seen.get() != "ops" {
		t.Errorf("POST with 60 KiB: HTTP %d %q", code, msg)
	}
}

// A client that sends its body too slowly, or keeps a connection idle, is cut off at
// the configured timeouts.
func TestSlowAndIdleClientsAreCutOff(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	addr := start(t, api.ServerConfig{Addr: "127.0.0.1:0", TLS: srvTLS, Verifier: staff,
		ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, allHandlers(&whoSeen{}))
	cliTLS.ServerName = "127.0.0.1"

	// closedWithin reads from conn until the server closes it; it fails the test if
	// that takes longer than within.
	closedWithin := func(what string, conn net.Conn, within time.Duration) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(within))
		start := time.Now()
		_, err := io.Copy(io.Discard, conn)
		if err != nil && strings.Contains(err.Error(), "timeout") {
			t.Fatalf("%s: the server kept the connection open %v", what, within)
		}
		t.Logf("%s: closed by the server after %v", what, time.Since(start).Round(10*time.Millisecond))
	}

	slow, err := tls.Dial("tcp", addr, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /v1/runbooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-secret\r\nContent-Length: 100\r\n\r\n{")
	closedWithin("a body never finished", slow, 3*time.Second)

	idle, err := tls.Dial("tcp", addr, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz on a kept-alive connection: %v %v", resp, err)
	}
	resp.Body.Close()
	closedWithin("an idle kept-alive connection", idle, 3*time.Second)
}
