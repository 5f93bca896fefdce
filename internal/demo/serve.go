package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Listen is the HTTP address (host:port); ignored when Listener is set.
	Listen   string
	Listener net.Listener
	// DSN is the PostgreSQL connection string (URL or key=value); the password may
	// come from PGPASSWORD instead.
	DSN  string
	Site string
	PG   PGOptions
	Log  *slog.Logger
	// Ready, when set, is called once the HTTP listener is open, with its address.
	Ready func(addr string)
}

// Serve runs the demo application until ctx ends: it listens at once (so /healthz can
// say why it is not ready), creates the schema in the background until the primary is
// reachable, and shuts down gracefully.
func Serve(ctx context.Context, o ServeOptions) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Site == "" {
		return errors.New("serve: a site name is required")
	}
	store, err := OpenPG(o.DSN, o.PG, log.With("component", "db"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", o.Listen); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           NewHandler(o.Site, store, log.With("component", "http")),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = store.EnsureSchema(ctx) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("demo application listening", "addr", ln.Addr().String())
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("demo application stopped")
	return nil
}
