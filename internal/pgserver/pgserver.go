// Package pgserver runs PostgreSQL 15 server processes on this machine: initdb, start,
// stop, kill, readiness. The lab, the data driver's tests and the demo application's
// tests use it to get real databases on loopback.
//
// PostgreSQL refuses to run as root, so when hadron runs as root every server program
// runs as the OS user OSUser ("hadron-pg", created by scripts/install-deps.sh) and the
// data directories belong to that user. As any other user, programs run as that user.
//
// Servers are started with pg_ctl, so they are detached session leaders that outlive
// the process that started them: stop them with Stop or Kill. Unix sockets are off;
// clients connect over TCP to the listen address given to Start.
package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultBin is where Debian installs PostgreSQL 15's server programs.
const DefaultBin = "/usr/lib/postgresql/15/bin"

// OSUser is the OS user that runs PostgreSQL when hadron runs as root.
const OSUser = "hadron-pg"

// EnvBin overrides DefaultBin.
const EnvBin = "HADRON_PG_BIN"

// Bin returns the directory of the server programs.
func Bin() string {
	if b := os.Getenv(EnvBin); b != "" {
		return b
	}
	return DefaultBin
}

// Command returns a command running the PostgreSQL program name (initdb, pg_ctl,
// pg_basebackup, pg_rewind, ...) from Bin as the server's OS user. env entries
// ("PGPASSWORD=...") are added to a minimal environment; they are never logged.
func Command(ctx context.Context, name string, env []string, args ...string) (*exec.Cmd, error) {
	return CommandAt(ctx, filepath.Join(Bin(), name), env, args...)
}

// CommandAt is Command for a program outside Bin (pgbackrest, which the server runs
// as its archive_command and so must run as the same OS user).
func CommandAt(ctx context.Context, path string, env []string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "TZ=UTC"}, env...)
	cmd.Dir = "/"
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd, nil
}

// Run runs a PostgreSQL program (see Command) and returns its combined output in the
// error when it fails.
func Run(ctx context.Context, name string, env []string, args ...string) ([]byte, error) {
	cmd, err := Command(ctx, name, env, args...)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// credential is the OS user to switch to, or nil to stay the current user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	uid, gid, err := osUser()
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func osUser() (uid, gid int, err error) {
	u, err := user.Lookup(OSUser)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: OS user %s (scripts/install-deps.sh creates it): %v", ErrNoOSUser, OSUser, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// PrepareDir creates dir (mode 0700) for the server's OS user, and makes every parent
// directory searchable (o+x, never readable) so that user can reach it: temporary
// directories are 0700 root. dir must be empty or absent for initdb and pg_basebackup.
func PrepareDir(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("prepare %s: %w", dir, err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := osUser()
	if err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("prepare %s: %w", dir, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", dir, err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("prepare %s: make %s searchable: %w", dir, p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// LogPath is the server log of the data directory dir: a sibling file, so that
// pg_basebackup and pg_rewind never copy one member's log over another's.
func LogPath(dir string) string {
	return filepath.Clean(dir) + ".log"
}

// Running reports whether a server runs on dir, and its postmaster's process id.
func Running(dir string) (pid int, ok bool) {
	pid, err := postmasterPID(dir)
	if err != nil {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return pid, false
	}
	// A stale postmaster.pid may name an exited but unreaped process (PID 1 of this
	// machine reaps orphans lazily) or a process that reused the pid.
	if zombie(pid) {
		return pid, false
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil &&
		!strings.HasPrefix(string(comm), "postgres") && !strings.HasPrefix(string(comm), "postmaster") {
		return pid, false
	}
	return pid, true
}

// postmasterPID reads the first line of dir/postmaster.pid.
func postmasterPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("postmaster.pid in %s: bad pid %q", dir, line)
	}
	return pid, nil
}

// waitGone polls until process pid no longer exists or ctx ends.
func waitGone(ctx context.Context, pid int) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || zombie(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pid %d to exit: %w", pid, ctx.Err())
		case <-t.C:
		}
	}
}

// zombie reports whether pid has exited but was not reaped yet (its parent may be this
// process when it runs as PID 1 in a container).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}
