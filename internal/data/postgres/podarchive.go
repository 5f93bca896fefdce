package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// PodArchiving is the part of a mirror set's backups that needs a member's files, run
// by the member's own pod beside its server (`hadron data member-start`): the daemons
// never see a pod's data directory. While the member is primary, the set's stanza is
// made to exist and, once per timeline, the segments of the previous timeline that
// the member received as a stand-by are pushed (CatchUpArchive: the ones its dead
// predecessor may not have archived); then the schedule's base backups are taken
// here, pgBackRest reading the data directory beside the running server. A stand-by
// does nothing. The daemons' leader, which cannot reach the files, skips a primary
// in a pod (data.ErrNotManaged).
type PodArchiving struct {
	Member   string
	Schedule pgbackrest.Schedule
	// Every is how often the member's role is read (default 10s); BackupEvery how
	// often the schedule is (default a minute, as the daemons' leader checks it).
	Every, BackupEvery time.Duration
	// BackupTimeout bounds one base backup (default 12h).
	BackupTimeout time.Duration
}

// podArchiveStep is what one tick of PodArchiving does.
type podArchiveStep struct {
	catchUp bool // stanza-create, then CatchUpArchive for the member's timeline
	backup  bool // a schedule check (ScheduledBackup)
}

// decidePodArchive is a tick's step from the member's role and timeline, the
// timeline whose catch-up is done (0: none yet) and whether a schedule check is due.
// A backup waits for the catch-up of its timeline: it needs the stanza, and an
// archive with a gap behind the backup's start would make it useless for a
// point-in-time recovery before it.
func decidePodArchive(primary bool, tli, caughtUp uint64, scheduleDue bool) podArchiveStep {
	if !primary {
		return podArchiveStep{}
	}
	if tli != caughtUp {
		return podArchiveStep{catchUp: true}
	}
	return podArchiveStep{backup: scheduleDue}
}

// RunPodArchiving does pa's work until ctx ends; a step that fails is logged and
// tried again at the next tick.
func (d *Driver) RunPodArchiving(ctx context.Context, pa PodArchiving) {
	if d.cfg.Backup == nil {
		return
	}
	every, backupEvery, timeout := pa.Every, pa.BackupEvery, pa.BackupTimeout
	if every <= 0 {
		every = 10 * time.Second
	}
	if backupEvery <= 0 {
		backupEvery = time.Minute
	}
	if timeout <= 0 {
		timeout = 12 * time.Hour
	}
	hasSchedule := pa.Schedule.Full > 0 || pa.Schedule.Incremental > 0
	log := d.log.With("component", "pod-archiving", "member", pa.Member)
	var lastCheck time.Time
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		m, err := d.member(pa.Member)
		if err != nil {
			log.Error("pod archiving", "err", err)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		standby, tli, err := d.walTimeline(rctx, m)
		cancel()
		if err != nil {
			log.Debug("role not read", "err", err)
		} else {
			step := decidePodArchive(!standby, tli, d.archivedTimeline(pa.Member), hasSchedule && time.Since(lastCheck) >= backupEvery)
			if step.catchUp {
				if err := d.catchUpTimeline(ctx, pa.Member, tli); err != nil {
					log.Warn("archive catch-up failed; trying again", "timeline", tli, "err", err)
				}
			}
			if step.backup {
				lastCheck = time.Now()
				guard := func(ctx context.Context) error {
					// The last word before a backup starts: still the primary, on the
					// same timeline (a held or rewound member is in recovery).
					standby, now, err := d.walTimeline(ctx, m)
					switch {
					case err != nil:
						return err
					case standby || now != tli:
						return fmt.Errorf("%s is no longer the primary of timeline %d", pa.Member, tli)
					}
					return nil
				}
				dec, err := d.scheduledBackupFrom(ctx, pa.Member, pa.Schedule, time.Now(), guard, timeout)
				switch {
				case err != nil:
					log.Error("scheduled backup failed; checking again later", "type", dec.Type, "err", err)
				case dec.Type != "":
					log.Info("scheduled backup taken", "type", dec.Type, "why", dec.Reason)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// walTimeline reads whether m is in recovery and, when it is not, the timeline it
// writes.
func (d *Driver) walTimeline(ctx context.Context, m v1alpha1.Member) (standby bool, tli uint64, err error) {
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return false, 0, err
	}
	defer conn.Close(context.Background())
	var walfile string
	if err := conn.QueryRow(ctx, `select pg_is_in_recovery(), case when pg_is_in_recovery() then '' else pg_walfile_name(pg_current_wal_lsn()) end`).Scan(&standby, &walfile); err != nil {
		return false, 0, fmt.Errorf("role of %s: %w", m.Name, err)
	}
	if standby {
		return true, 0, nil
	}
	if len(walfile) != 24 {
		return false, 0, fmt.Errorf("role of %s: %q is not a WAL file name", m.Name, walfile)
	}
	tli, err = strconv.ParseUint(walfile[:8], 16, 32)
	if err != nil {
		return false, 0, fmt.Errorf("role of %s: timeline of %q: %w", m.Name, walfile, err)
	}
	return false, tli, nil
}
