package api

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Handlers are what the server serves.
type Handlers struct {
	// Status builds the answer of GET /v1/status.
	Status func(ctx context.Context) Status
	// Metrics serves GET /metrics (Prometheus); nil leaves it out.
	Metrics http.Handler
	// Runbooks serves the runbook routes (runbooks.go); nil leaves them out.
	Runbooks *RunbookHandlers
}

// ServerConfig says where and how the API listens.
type ServerConfig struct {
	Addr  string
	TLS   *tls.Config
	Token string
	Log   *slog.Logger
}

// Server is the running API.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds the API's address.
func Listen(cfg ServerConfig, h Handlers) (*Server, error) {
	if cfg.Token == "" {
		return nil, errors.New("api: empty bearer token")
	}
	mux := http.NewServeMux()
	// Health and metrics carry no secrets and are scraped without a token, the way
	// Prometheus targets usually are; everything under /v1/ needs the token.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if h.Metrics != nil {
		mux.Handle("GET /metrics", h.Metrics)
	}
	mux.Handle("GET /v1/status", authorize(cfg.Token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.Status(r.Context()))
	})))
	registerRunbooks(mux, cfg.Token, h.Runbooks)
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
	return &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}, nil
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
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(sctx)
	return nil
}

// authorize lets through requests that carry the bearer token; the comparison takes the
// same time whatever the token sent.
func authorize(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hadron"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
