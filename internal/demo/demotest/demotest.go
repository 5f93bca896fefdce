// Package demotest starts real PostgreSQL servers and demo applications on loopback for
// tests (of the demo itself, of the load generator, of drills).
package demotest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hadron.dev/hadron/internal/demo"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
)

// Password is the superuser password of the test servers (a test value).
const Password = "demo-test-pw"

// PG is a PostgreSQL server started for a test; it is killed when the test ends.
type PG struct {
	Dir  string
	Addr string // 127.0.0.1:port
}

// StartPG initialises and starts a PostgreSQL 15 server on a free loopback port. It
// skips t when PostgreSQL is not installed (fails under CI).
func StartPG(t testing.TB) *PG {
	t.Helper()
	testenv.PostgresBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := &PG{Dir: filepath.Join(t.TempDir(), "pg"), Addr: FreeAddr(t)}
	if err := pgserver.Init(ctx, p.Dir, pgserver.InitOptions{Password: Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pgserver.Kill(context.Background(), p.Dir) })
	p.Start(t)
	return p
}

// DSN connects to the server as its superuser.
func (p *PG) DSN() string {
	return fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=disable&connect_timeout=2", Password, p.Addr)
}

// Start starts the server again (after Stop or Kill) and waits until it answers.
func (p *PG) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgserver.Start(ctx, p.Dir, p.Addr); err != nil {
		t.Fatal(err)
	}
	if err := pgserver.WaitReady(ctx, p.DSN()); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the server down in fast mode.
func (p *PG) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgserver.Stop(ctx, p.Dir, pgserver.StopFast); err != nil {
		t.Fatal(err)
	}
}

// Kill kills the server as a crash would.
func (p *PG) Kill(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgserver.Kill(ctx, p.Dir); err != nil {
		t.Fatal(err)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Serve runs `hadron-demo serve` in-process on a loopback port for site with dsn and
// returns its base URL; it stops when the test ends. It does not wait for the schema.
func Serve(t testing.TB, site, dsn string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Logs go to stderr under -v only: a background retry may log after the test ended,
	// when t.Log is no longer allowed.
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("site", site)
	}
	go func() {
		done <- demo.Serve(ctx, demo.ServeOptions{Listener: ln, DSN: dsn, Site: site, Log: log})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo server: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// WaitHealth polls url's /healthz every 50ms until it answers want (200 or 503) or
// the deadline passes.
func WaitHealth(t testing.TB, url string, want int, within time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/healthz did not answer %d within %s (last: %s)", url, want, within, last)
}
