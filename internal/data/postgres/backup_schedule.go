package postgres

import (
	"context"
	"fmt"
	"os"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// ScheduledBackup takes the backup schedule s asks for at now (pgbackrest.Due), from
// the set's current primary, and returns what was decided. The repository's list of
// backups is the schedule's only memory, so whoever calls it next — another leader
// after a failover — neither skips a backup nor takes one twice.
//
// guard runs right before a backup starts and stops it with its error: the leader's
// fencing check, so a deposed leader starts nothing. The backup runs under ctx, so
// it stops with the leadership too. The primary must run on this machine (a dataDir
// that exists here): pgBackRest reads the server's files; elsewhere the error wraps
// data.ErrNotManaged and nothing is decided.
func (d *Driver) ScheduledBackup(ctx context.Context, s pgbackrest.Schedule, now time.Time, guard func(context.Context) error, timeout time.Duration) (pgbackrest.Decision, error) {
	p, err := d.currentPrimary(ctx)
	if err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup: %w", err)
	}
	return d.scheduledBackupFrom(ctx, p, s, now, guard, timeout)
}

// scheduledBackupFrom is ScheduledBackup from p, a primary the caller found.
func (d *Driver) scheduledBackupFrom(ctx context.Context, p string, s pgbackrest.Schedule, now time.Time, guard func(context.Context) error, timeout time.Duration) (pgbackrest.Decision, error) {
	r, err := d.backupRunner(p)
	if err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup: %w", err)
	}
	if _, err := os.Stat(r.Stanza.DataDir); err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup from %s: %w: %v", p, data.ErrNotManaged, err)
	}
	// The archive first, once per timeline: the segments of the previous timeline
	// that p received as a stand-by, which its dead predecessor may not have archived
	// (catchUpTimeline); a backup with a gap behind it restores nothing before it.
	m, _ := d.member(p)
	standby, tli, err := d.walTimeline(ctx, m)
	if err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup from %s: %w", p, err)
	}
	if standby {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup from %s: %w", p, ErrStandby)
	}
	if err := d.catchUpTimeline(ctx, p, tli); err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup from %s: archive catch-up: %w", p, err)
	}
	// The catch-up made the stanza (once per timeline), so the repository reads.
	info, err := r.Info(ctx)
	if err != nil {
		return pgbackrest.Decision{}, fmt.Errorf("scheduled backup: repository of %s: %w", p, err)
	}
	dec := pgbackrest.Due(info.Backups, s, now)
	if dec.Type == "" {
		return dec, nil
	}
	// A promoted server names its new timeline in pg_control only after its first
	// checkpoint; until then pgBackRest refuses to back it up ("WAL timeline 2 does
	// not match pg_control timeline 1"), which would fail the first scheduled backup
	// after every failover. The backup checkpoints at its start anyway (start-fast).
	if err := d.checkpoint(ctx, m); err != nil {
		return dec, fmt.Errorf("scheduled backup from %s: %w", p, err)
	}
	// Last, right before the backup: the checkpoint can take a while, and a leader
	// deposed meanwhile must not start it.
	if err := guard(ctx); err != nil {
		return dec, fmt.Errorf("scheduled %s backup: %w", dec.Type, err)
	}
	d.log.Info("scheduled backup", "set", d.cfg.Set.Name, "type", dec.Type, "from", p, "why", dec.Reason)
	if err := r.Backup(ctx, dec.Type, timeout); err != nil {
		return dec, fmt.Errorf("scheduled %s backup from %s: %w", dec.Type, p, err)
	}
	return dec, nil
}
