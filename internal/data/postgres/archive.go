package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// ArchiveStatus is the primary's archiver as pg_stat_archiver reports it.
type ArchiveStatus struct {
	Primary      string    `json:"primary"`
	Current      data.LSN  `json:"current"`
	LastArchived string    `json:"lastArchived,omitempty"`
	ArchivedAt   time.Time `json:"archivedAt,omitzero"`
	// Lag is the WAL written that is not in the archive yet, in bytes
	// (pgbackrest.ArchiveLag); Waiting the segments queued for archive_command.
	Lag     int64 `json:"lagBytes"`
	Waiting int   `json:"waitingSegments"`
	// Ready names the files waiting, oldest first.
	Ready []string `json:"ready,omitempty"`
	// OldestWaitingSince is when the oldest file waiting was finished (its .ready
	// mark's time): how long archive_command has been behind. Zero with none waiting.
	OldestWaitingSince time.Time `json:"oldestWaitingSince,omitzero"`
	FailedCount        int64     `json:"failedCount"`
	LastFailed         string    `json:"lastFailed,omitempty"`
	FailedAt           time.Time `json:"failedAt,omitzero"`
}

// ArchiveStatus reads the current primary's archiver.
func (d *Driver) ArchiveStatus(ctx context.Context) (*ArchiveStatus, error) {
	p, err := d.currentPrimary(ctx)
	if err != nil {
		return nil, fmt.Errorf("archive status: %w", err)
	}
	return d.ArchiveStatusOf(ctx, p)
}

// ArchiveStatusOf reads the archiver of p, the primary a status just found (the
// daemon's observation has one in hand): a query over the network, so it works from
// any site.
func (d *Driver) ArchiveStatusOf(ctx context.Context, p string) (*ArchiveStatus, error) {
	m, err := d.member(p)
	if err != nil {
		return nil, fmt.Errorf("archive status: %w", err)
	}
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return nil, fmt.Errorf("archive status: %w", err)
	}
	defer conn.Close(context.Background())
	var cur string
	var at, failedAt *time.Time
	st := &ArchiveStatus{Primary: p}
	if err := conn.QueryRow(ctx, `select pg_current_wal_lsn()::text, coalesce(last_archived_wal, ''), last_archived_time,
		failed_count, coalesce(last_failed_wal, ''), last_failed_time from pg_stat_archiver`).
		Scan(&cur, &st.LastArchived, &at, &st.FailedCount, &st.LastFailed, &failedAt); err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	if st.Current, err = data.ParseLSN(cur); err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	if at != nil {
		st.ArchivedAt = *at
	}
	if failedAt != nil {
		st.FailedAt = *failedAt
	}
	rows, err := conn.Query(ctx, `select name, modification from pg_ls_archive_statusdir() where name like '%.ready' order by name`)
	if err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	type mark struct {
		Name         string
		Modification time.Time
	}
	marks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[mark])
	if err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	ready := make([]string, 0, len(marks))
	for _, mk := range marks {
		ready = append(ready, mk.Name)
		st.Ready = append(st.Ready, strings.TrimSuffix(mk.Name, ".ready"))
		// The server writes the mark when the file is finished and never touches it
		// again before archiving it.
		if st.OldestWaitingSince.IsZero() || mk.Modification.Before(st.OldestWaitingSince) {
			st.OldestWaitingSince = mk.Modification
		}
	}
	st.Waiting = len(ready)
	st.Lag = pgbackrest.ArchiveLag(st.Current, ready, pgbackrest.SegmentSize)
	return st, nil
}

// CatchUpArchive pushes into the archive the segments of the previous timeline that
// the promoted local member received as a stand-by (pgbackrest.CatchUpSegments): the
// ones its dead primary may not have archived. Pushing one the archive holds already
// is a no-op, so it is safe to run again. It returns the files pushed. Run it after a
// promotion and before the old primary's copies are given up; without it the archive
// has a gap as long as the old primary's archive lag when it died.
func (d *Driver) CatchUpArchive(ctx context.Context, member string) ([]string, error) {
	r, err := d.backupRunner(member)
	if err != nil {
		return nil, err
	}
	m, _ := d.member(member)
	standby, tli, err := d.walTimeline(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	if standby {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, ErrStandby)
	}
	if tli == 1 {
		return nil, nil // no earlier timeline: nothing was received as a stand-by
	}
	wal := filepath.Join(r.Stanza.DataDir, "pg_wal")
	hist, err := os.ReadFile(filepath.Join(wal, fmt.Sprintf("%08X.history", tli)))
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	switches, err := pgbackrest.ParseHistory(string(hist))
	if err != nil || len(switches) == 0 {
		return nil, fmt.Errorf("archive catch-up on %s: timeline %d's history: %v", member, tli, err)
	}
	entries, err := os.ReadDir(wal)
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	var pushed []string
	for _, f := range pgbackrest.CatchUpSegments(names, switches[len(switches)-1], pgbackrest.SegmentSize) {
		if err := r.ArchivePush(ctx, filepath.Join(wal, f)); err != nil {
			return pushed, fmt.Errorf("archive catch-up on %s: %w", member, err)
		}
		pushed = append(pushed, f)
	}
	d.log.Info("archive catch-up", "member", member, "pushed", len(pushed))
	return pushed, nil
}

// catchUpTimeline makes the set's stanza (until it exists a new primary's
// archive_command fails) and runs CatchUpArchive for member, the primary of timeline
// tli, once per timeline: the scheduled backups of the daemons' leader and a member
// pod's archiving loop both call it before a backup, so the archive has no gap behind
// the first backup of a timeline.
func (d *Driver) catchUpTimeline(ctx context.Context, member string, tli uint64) error {
	if d.archivedTimeline(member) == tli {
		return nil
	}
	r, err := d.backupRunner(member)
	if err != nil {
		return err
	}
	if err := r.StanzaCreate(ctx); err != nil {
		return err
	}
	if _, err := d.CatchUpArchive(ctx, member); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.archived == nil {
		d.archived = map[string]uint64{}
	}
	d.archived[member] = tli
	return nil
}

// archivedTimeline is the timeline of member whose catch-up is done, 0 for none.
func (d *Driver) archivedTimeline(member string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.archived[member]
}
