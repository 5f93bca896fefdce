package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// StopMode is pg_ctl's shutdown mode.
type StopMode string

const (
	// StopSmart waits for clients to disconnect.
	StopSmart StopMode = "smart"
	// StopFast disconnects clients and shuts down cleanly (a checkpoint).
	StopFast StopMode = "fast"
	// StopImmediate aborts without a checkpoint, like a crash; recovery runs on start.
	StopImmediate StopMode = "immediate"
)

// Start starts the server of dir listening on listenAddr (host:port) and waits until it
// accepts connections (for a standby: until it reached a consistent state), or until
// ctx ends (default limit 60s). It serves TLS when TLSDir(dir) holds a certificate and
// a key (WriteTLS). It is a no-op when the server already runs.
func Start(ctx context.Context, dir, listenAddr string) error {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return fmt.Errorf("start %s: listen address: %w", dir, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("start %s: listen port %q", dir, port)
	}
	if _, ok := Running(dir); ok {
		return nil
	}
	if err := removeStalePID(dir); err != nil {
		return fmt.Errorf("start %s: %w", dir, err)
	}
	logPath := LogPath(dir)
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: %w", dir, err)
	}
	f.Close()
	if err := chownToOSUser(logPath); err != nil {
		return fmt.Errorf("start %s: %w", dir, err)
	}
	// pg_ctl runs the postmaster through /bin/sh, so the options are one shell string;
	// host and port were validated above and contain no shell syntax.
	opts := fmt.Sprintf("-c listen_addresses='%s' -c port=%s", host, port)
	tlsOpts, err := tlsOptions(dir)
	if err != nil {
		return fmt.Errorf("start %s: %w", dir, err)
	}
	opts += tlsOpts
	if _, err := Run(ctx, "pg_ctl", nil, "start", "-D", dir, "-l", logPath, "-w",
		"-t", waitSeconds(ctx, 60), "-o", opts); err != nil {
		return fmt.Errorf("start %s on %s: %w (log: %s)", dir, listenAddr, err, tail(logPath, 600))
	}
	return nil
}

// Stop shuts the server of dir down in mode and waits until it exited. Stopping a
// server that does not run is not an error.
func Stop(ctx context.Context, dir string, mode StopMode) error {
	if _, ok := Running(dir); !ok {
		return nil
	}
	if mode == "" {
		mode = StopFast
	}
	if _, err := Run(ctx, "pg_ctl", nil, "stop", "-D", dir, "-m", string(mode), "-w",
		"-t", waitSeconds(ctx, 60)); err != nil {
		if _, ok := Running(dir); !ok {
			return nil
		}
		return fmt.Errorf("stop %s: %w", dir, err)
	}
	return nil
}

// Kill sends SIGKILL to the server of dir and every process of its session (the
// postmaster is a session leader: pg_ctl starts it with setsid), as a crash would, and
// waits until the postmaster is gone. Killing a server that does not run is not an error.
func Kill(ctx context.Context, dir string) error {
	pid, ok := Running(dir)
	if !ok {
		return nil
	}
	// The negative pid signals the process group the postmaster leads.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %s (pid %d): %w", dir, pid, err)
		}
	}
	if err := waitGone(ctx, pid); err != nil {
		return fmt.Errorf("kill %s: %w", dir, err)
	}
	if err := removeStalePID(dir); err != nil {
		return fmt.Errorf("kill %s: %w", dir, err)
	}
	return nil
}

// removeStalePID removes the postmaster.pid of a dead server. PostgreSQL itself would
// refuse to start while that pid is an unreaped zombie, which it takes for alive.
func removeStalePID(dir string) error {
	if _, ok := Running(dir); ok {
		return nil
	}
	err := os.Remove(filepath.Join(dir, "postmaster.pid"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Reload makes the server of dir re-read its configuration files.
func Reload(ctx context.Context, dir string) error {
	if _, ok := Running(dir); !ok {
		return fmt.Errorf("reload %s: %w", dir, ErrNotRunning)
	}
	if _, err := Run(ctx, "pg_ctl", nil, "reload", "-D", dir); err != nil {
		return fmt.Errorf("reload %s: %w", dir, err)
	}
	return nil
}

// WaitReady polls dsn until a connection runs a query, or ctx ends; it returns the last
// connection error then. Each attempt is limited to two seconds.
func WaitReady(ctx context.Context, dsn string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		last = ping(ctx, dsn)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for postgres: %w (last error: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

func ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "select 1")
	return err
}

// waitSeconds is pg_ctl's -t: the time left on ctx, or def seconds.
func waitSeconds(ctx context.Context, def int) string {
	if dl, ok := ctx.Deadline(); ok {
		s := int(time.Until(dl).Seconds())
		if s < 1 {
			s = 1
		}
		return strconv.Itoa(s)
	}
	return strconv.Itoa(def)
}

// tail returns the last n bytes of a log file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "unavailable"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "unavailable"
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return "unavailable"
	}
	return strings.TrimSpace(string(b))
}
