package data

import (
	"context"
	"time"
)

// ArchiveRestorer is an optional capability: a driver that can rebuild a mirror set's
// member at a site from the set's backup archive when no copy of the data is left
// anywhere (the primary's region lost together with the DR member). A failover uses
// it only where the set's policy allows (spec.backup.restoreWhenNoMember).
type ArchiveRestorer interface {
	// RestoreLatest rebuilds the member at site that the driver runs from the newest
	// backup and every archived WAL segment, and promotes it. It must be safe to call
	// again after an interruption: a restore already finished is started, not redone,
	// and a member whose server runs, or whose data directory holds a database the
	// driver did not restore, is never touched.
	RestoreLatest(ctx context.Context, site string) (Restored, error)
	// RestoreInProgress says whether a restore of site's member was begun and not
	// finished: its server, replaying the archive, answers as a stand-by then, and
	// promoting it would end the replay early. Only RestoreLatest may finish it.
	RestoreInProgress(site string) bool
}

// Restored is what a restore from the archive brought back.
type Restored struct {
	Member   string `json:"member"`
	Timeline int    `json:"timeline"`
	// End is the WAL position the restored server was promoted at: the end of the
	// archive it could replay.
	End LSN `json:"end"`
	// Resumed is set when an earlier attempt had already restored the files.
	Resumed bool `json:"resumed,omitempty"`
}

// ArchiveSeen is the WAL archiving of a set's primary as the daemons last read it
// before a failover: the archive lag a restore from the archive is predicted to lose.
type ArchiveSeen struct {
	Primary string    `json:"primary"`
	At      time.Time `json:"at"`
	// Current is the primary's WAL position at the reading.
	Current LSN `json:"current,omitempty"`
	// LagBytes is the WAL the primary had written and the archive did not hold.
	LagBytes int64 `json:"lagBytes"`
	// Waiting is how long the oldest finished segment had waited for archive_command
	// (0 when none waited).
	Waiting time.Duration `json:"waitingNs"`
	// ArchiveTimeout is the set's archive interval: a write reaches the archive
	// within it plus the wait.
	ArchiveTimeout time.Duration `json:"archiveTimeoutNs"`
}

// Bound is the most a restore from the archive as seen is predicted to lose, in time:
// the segment switch (the archive interval) plus the wait of the oldest segment.
func (a ArchiveSeen) Bound() time.Duration { return a.ArchiveTimeout + a.Waiting }
