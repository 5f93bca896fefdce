package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// backupEvery is how often the leader checks whether a scheduled backup is due: the
// schedule's intervals are hours, so a minute late costs nothing, and a check is one
// `pgbackrest info`.
const backupEvery = time.Minute

// backupTimeout bounds one scheduled backup; a full backup of a large database takes
// hours.
const backupTimeout = 12 * time.Hour

// scheduledBackuper is a data driver that takes the backups a schedule asks for
// (postgres.Driver.ScheduledBackup).
type scheduledBackuper interface {
	ScheduledBackup(ctx context.Context, s pgbackrest.Schedule, now time.Time, guard func(context.Context) error, timeout time.Duration) (pgbackrest.Decision, error)
}

// backupSchedules is the leader loop that takes every mirror set's scheduled backups
// (spec.backup.schedule) from whichever member is primary at the time. What is due
// is read from the repository at every check, so a new leader continues the last
// one's schedule; the fencing token is checked right before a backup starts, and a
// backup in flight stops with the leadership (its context). A check that fails is
// logged and made again at the next tick.
type backupSchedules struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	data   *dataView
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger
}

func (b *backupSchedules) lead(ctx context.Context, t *term) {
	sets := scheduledSets(b.fleet)
	if len(sets) == 0 {
		return
	}
	every := b.every
	if every <= 0 {
		every = backupEvery
	}
	now := b.now
	if now == nil {
		now = time.Now
	}
	log := b.log.With("component", "backup-schedule")
	guard := func(ctx context.Context) error {
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return coord.Fenced(gctx, b.client, t.tok)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, set := range sets {
			sb, ok := b.data.driver(set.Name).(scheduledBackuper)
			if !ok {
				log.Debug("no driver that takes backups here", "set", set.Name)
				continue
			}
			dec, err := sb.ScheduledBackup(ctx, postgres.BackupSchedule(set.Spec.Backup.Schedule), now(), guard, backupTimeout)
			switch {
			case coord.IsFenced(err):
				log.Warn("deposed: scheduled backup not started", "set", set.Name, "token", t.tok.Rev)
				return
			case ctx.Err() != nil:
				return
			case errors.Is(err, data.ErrNotManaged):
				// The primary runs on another machine: its daemon cannot be asked yet
				// (see docs/fleet.md); a later leader, or the next check after a
				// failover, may find it here.
				log.Debug("scheduled backup not taken here", "set", set.Name, "err", err)
			case err != nil:
				log.Error("scheduled backup failed; checking again at the next tick", "set", set.Name, "type", dec.Type, "err", err)
			case dec.Type != "":
				log.Info("scheduled backup taken", "set", set.Name, "type", dec.Type, "why", dec.Reason)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scheduledSets are the mirror sets with a backup schedule.
func scheduledSets(f *fleet.Fleet) []*v1alpha1.MirrorSet {
	var out []*v1alpha1.MirrorSet
	for _, s := range f.MirrorSets {
		if s.Spec.Backup != nil && s.Spec.Backup.Schedule != nil {
			out = append(out, s)
		}
	}
	return out
}
