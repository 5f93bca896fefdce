package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"
	"time"

	"hadron.dev/hadron/internal/apitoken"
)

// Handlers are what the server serves.
type Handlers struct {
	// Status builds the answer of GET /v1/status.
	Status func(ctx context.Context) Status
	// Metrics serves GET /metrics (Prometheus); nil leaves it out.
	Metrics http.Handler
	// Runbooks serves the runbook routes (runbooks.go); nil leaves them out.
	Runbooks *RunbookHandlers
	// Tokens serves the token routes (tokens.go); nil leaves them out.
	Tokens *TokenHandlers
	// UI are the dashboard's routes by pattern (internal/dashboard), each served
	// behind the role routeRoles gives it; nil leaves the dashboard out.
	UI map[string]http.Handler
}

// Verifier says whose a bearer secret is (apitoken.Verifier).
type Verifier interface {
	Verify(secret string) (apitoken.Identity, error)
}

// ServerConfig says where and how the API listens.
type ServerConfig struct {
	Addr string
	TLS  *tls.Config
	// Verifier says whose each request's bearer secret is; nil accepts Token alone, as
	// the bootstrap token.
	Verifier Verifier
	// Token is the bootstrap secret, used when Verifier is nil.
	Token string
	// ProbesNeedToken makes GET /metrics and GET /healthz need a token with role read.
	// Off by default: Prometheus and load-balancer health checks usually scrape
	// without credentials, and neither route says anything an attacker could use to
	// act (healthz answers "ok"; metrics are counts and durations).
	ProbesNeedToken bool
	// ReadTimeout, WriteTimeout and IdleTimeout bound a request's reading, its
	// answer and a kept-alive connection's wait for the next request; zero keeps the
	// defaults (DefaultReadTimeout ...). They stop a slow or idle client from holding a
	// connection (and its goroutine) open for ever.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	Log                                    *slog.Logger
}

// The default timeouts. The longest answers (a preview, a run's start) take a few
// seconds, well inside WriteTimeout; the dashboard's event stream, the one route that
// streams, lifts the write deadline for itself.
const (
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 60 * time.Second
	DefaultIdleTimeout  = 120 * time.Second
)

// maxBody caps every request body; the largest (a ledger record) is a few KiB.
const maxBody = 64 << 10

// Server is the running API.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	stop context.CancelFunc
}

// Listen binds the API's address.
func Listen(cfg ServerConfig, h Handlers) (*Server, error) {
	v := cfg.Verifier
	if v == nil {
		if cfg.Token == "" {
			return nil, errors.New("api: empty bearer token")
		}
		v = apitoken.NewVerifier(nil, cfg.Token, nil)
	}
	rt := &router{mux: http.NewServeMux(), verifier: v, probesNeedToken: cfg.ProbesNeedToken}
	rt.handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	if h.Metrics != nil {
		rt.handle("GET /metrics", h.Metrics)
	}
	rt.handle("GET /v1/status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.Status(r.Context()))
	}))
	registerRunbooks(rt, h.Runbooks)
	registerTokens(rt, h.Tokens)
	rt.handle("GET /debug/pprof/{profile}", http.HandlerFunc(profile))
	if h.UI != nil {
		registerLogin(rt)
		for pattern, handler := range h.UI {
			rt.handle(pattern, handler)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("api listen %s: %w", cfg.Addr, err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	read := orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	// Requests' contexts end when the server shuts down, so that a stream (the
	// dashboard's events) ends with it instead of holding the shutdown up.
	base, cancel := context.WithCancel(context.Background())
	return &Server{ln: ln, stop: cancel, srv: &http.Server{Handler: rt.mux,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: min(read, 5*time.Second), ReadTimeout: read,
		WriteTimeout: orDefault(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:  orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Addr is the address the API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	s.stop()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(sctx)
	return nil
}

// decodeBody reads r's JSON body, at most maxBody bytes, into v; on failure it has
// answered 413 (too large) or 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v)
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, fmt.Sprintf("request body larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return false
	}
	http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// profile serves one of Go's runtime profiles: /debug/pprof/profile?seconds=N is the
// CPU's (at most WriteTimeout long), any other name a profile of runtime/pprof
// (heap, goroutine, allocs, mutex, block). Where a fleet of a hundred applications
// spends its memory is read here, on the running daemon, not guessed.
func profile(w http.ResponseWriter, r *http.Request) {
	switch name := r.PathValue("profile"); name {
	case "profile":
		pprof.Profile(w, r)
	default:
		if rpprof.Lookup(name) == nil {
			http.Error(w, "no profile "+name, http.StatusNotFound)
			return
		}
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
