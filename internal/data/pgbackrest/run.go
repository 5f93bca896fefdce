package pgbackrest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hadron.dev/hadron/internal/pgserver"
)

// Program is the pgbackrest executable (Debian's package installs it here).
var Program = "/usr/bin/pgbackrest"

// Runner runs pgbackrest for one stanza on one member's machine.
type Runner struct {
	Repo   Repo
	Stanza Stanza
	// Env is the libpq environment of the runs that connect to the server (backup,
	// check, stanza-create): PGHOST, PGSSLMODE, PGSSLROOTCERT, PGPASSFILE. pgBackRest
	// sets no host of its own when pg1-socket-path is unset, so libpq's PGHOST reaches
	// the server over TCP (hadron's servers have no Unix socket). Never a password.
	Env    []string
	Logger *slog.Logger
}

// Install writes the stanza's Home (configuration, lock, log and spool directories)
// for the server's OS user. It runs before the member's server starts, since the
// server's archive_command reads the configuration.
func (r *Runner) Install() error {
	if err := r.Repo.Validate("backup.repository"); err != nil {
		return err
	}
	home := r.Stanza.Home
	for _, d := range []string{home, filepath.Join(home, "lock"), filepath.Join(home, "log"), filepath.Join(home, "spool")} {
		if err := pgserver.PrepareDir(d); err != nil {
			return fmt.Errorf("pgbackrest home: %w", err)
		}
	}
	if r.Repo.Path != "" {
		if err := pgserver.PrepareDir(r.Repo.Path); err != nil {
			return fmt.Errorf("pgbackrest repository: %w", err)
		}
	}
	if s3 := r.Repo.S3; s3 != nil && len(s3.CA) > 0 {
		if err := writeOwned(caCopy(r.Stanza), s3.CA); err != nil {
			return fmt.Errorf("pgbackrest S3 CA: %w", err)
		}
	}
	if err := writeOwned(r.Stanza.ConfigPath(), []byte(Render(r.Repo, r.Stanza))); err != nil {
		return fmt.Errorf("pgbackrest config: %w", err)
	}
	return nil
}

// writeOwned replaces path with b, 0600 and owned by the server's OS user.
func writeOwned(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := pgserver.Chown(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// run runs pgbackrest with the stanza's configuration and returns its standard
// output. Secrets are in the configuration file only, so the command line and the
// environment show none.
func (r *Runner) run(ctx context.Context, timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := append([]string{"--config=" + r.Stanza.ConfigPath(), "--stanza=" + r.Stanza.Name}, args...)
	cmd, err := pgserver.CommandAt(ctx, Program, r.Env, full...)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	if r.Logger != nil {
		r.Logger.Debug("pgbackrest", "command", args[len(args)-1], "took", time.Since(start), "error", err)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("pgbackrest %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// StanzaCreate creates the stanza in the repository, or checks it matches the server
// (pgBackRest's stanza-create is idempotent).
func (r *Runner) StanzaCreate(ctx context.Context) error {
	_, err := r.run(ctx, 2*time.Minute, "stanza-create")
	return err
}

// Check makes the server switch WAL and waits until the segment reached the archive:
// the proof that archive_command works end to end.
func (r *Runner) Check(ctx context.Context) error {
	_, err := r.run(ctx, 3*time.Minute, "check")
	return err
}

// BackupType is pgBackRest's kind of backup.
type BackupType string

const (
	Full BackupType = "full"
	Diff BackupType = "diff"
	Incr BackupType = "incr"
)

// Backup takes a backup of the stanza's server, which must be the primary. An
// incremental backup without a full one before it becomes full (pgBackRest's rule).
func (r *Runner) Backup(ctx context.Context, typ BackupType, timeout time.Duration) error {
	switch typ {
	case Full, Diff, Incr:
	default:
		return fmt.Errorf("backup type %q: want full, diff or incr", typ)
	}
	_, err := r.run(ctx, timeout, "--type="+string(typ), "backup")
	return err
}

// Info reads the repository's view of the stanza.
func (r *Runner) Info(ctx context.Context) (*StanzaInfo, error) {
	out, err := r.run(ctx, time.Minute, "--output=json", "info")
	if err != nil {
		return nil, err
	}
	return ParseInfo(out, r.Stanza.Name)
}

// ArchiveGet fetches one WAL file (a segment or a timeline history file) from the
// archive into dest: whether the archive holds it.
func (r *Runner) ArchiveGet(ctx context.Context, name, dest string) error {
	_, err := r.run(ctx, time.Minute, "archive-get", name, dest)
	return err
}

// Target is where a restore stops replaying WAL.
type Target struct {
	// Time stops at the last transaction committed before it; zero is the end of
	// the archive (latest).
	Time time.Time
}

// Restore writes a new data directory dir from the newest backup before the target
// and the archived WAL up to it; the server started there replays to the target and
// promotes. dir must be empty or absent. The restored server archives nothing until
// it is made a member of a mirror set (archive_mode off): a copy made to inspect a
// past state must not write a timeline into the set's archive.
func (r *Runner) Restore(ctx context.Context, dir string, target Target, timeout time.Duration) error {
	if err := pgserver.PrepareDir(dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Without a target pgBackRest's default recovery replays to the archive's end and
	// promotes by itself; a target names the action, which is promote.
	args := []string{"--pg1-path=" + dir, "--archive-mode=off"}
	if !target.Time.IsZero() {
		args = append(args, "--type=time", "--target="+target.Time.UTC().Format("2006-01-02 15:04:05.000000-07"), "--target-action=promote")
	}
	args = append(args, "restore")
	if _, err := r.run(ctx, timeout, args...); err != nil {
		return fmt.Errorf("restore into %s: %w", dir, err)
	}
	return nil
}

// ArchivePush pushes one WAL file (a path) into the archive, as archive_command does.
// A file the archive already holds with the same bytes is accepted (pgBackRest only
// warns), so pushing again is safe; different bytes under the same name are refused.
func (r *Runner) ArchivePush(ctx context.Context, path string) error {
	_, err := r.run(ctx, 2*time.Minute, "archive-push", path)
	return err
}
