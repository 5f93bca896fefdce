package daemon

import (
	"context"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
)

// archiveReader is a data driver that reads a primary's WAL archiving
// (postgres.Driver.ArchiveStatusOf).
type archiveReader interface {
	ArchiveStatusOf(ctx context.Context, primary string) (*postgres.ArchiveStatus, error)
}

// observeArchive reads the archiving of set's primary, when the set has a backup
// repository and its driver can: nil otherwise. It runs with each observation, so
// status, metrics and the readiness check all see the same numbers.
func (v *dataView) observeArchive(ctx context.Context, set, primary string) *api.ArchiveLag {
	ms := v.fleet.MirrorSet(set)
	if ms == nil || ms.Spec.Backup == nil {
		return nil
	}
	ar, ok := v.drivers[set].(archiveReader)
	if !ok {
		return nil
	}
	bound := ms.Spec.Backup.EffectiveArchiveLagBound()
	if primary == "" {
		return archiveLagView(nil, data.ErrNoPrimary, bound, time.Now())
	}
	actx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	a, err := ar.ArchiveStatusOf(actx, primary)
	return archiveLagView(a, err, bound, time.Now())
}

// archiveLagView is the API's view of one reading a (or why there is none, err) at
// now, against bound: over it when the oldest file waiting for archive_command has
// waited longer than bound.
func archiveLagView(a *postgres.ArchiveStatus, err error, bound time.Duration, now time.Time) *api.ArchiveLag {
	out := &api.ArchiveLag{Bound: bound.String()}
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Primary, out.LagBytes, out.WaitingSegments = a.Primary, a.Lag, a.Waiting
	if a.Current != 0 {
		out.Current = a.Current.String()
	}
	out.LastArchived, out.FailedCount, out.LastFailed = a.LastArchived, a.FailedCount, a.LastFailed
	if !a.ArchivedAt.IsZero() {
		out.LastArchivedAt = a.ArchivedAt.UTC()
	}
	if a.Waiting > 0 && !a.OldestWaitingSince.IsZero() {
		waited := max(now.Sub(a.OldestWaitingSince), 0)
		out.WaitingSeconds = waited.Seconds()
		out.OverBound = waited > bound
	}
	return out
}

// archiveSeen is a reading of the archiver kept for a failover (nil when it read
// nothing): the archive lag a restore from the archive is predicted to lose.
func archiveSeen(a *api.ArchiveLag, archiveTimeout time.Duration) *data.ArchiveSeen {
	if a == nil || a.Error != "" || a.Primary == "" {
		return nil
	}
	// The position is what the view carries as text; unreadable, it is left unknown.
	current, _ := data.ParseLSN(a.Current)
	return &data.ArchiveSeen{Primary: a.Primary, At: time.Now(), Current: current, LagBytes: a.LagBytes,
		Waiting: time.Duration(a.WaitingSeconds * float64(time.Second)), ArchiveTimeout: archiveTimeout}
}

// archiveTimeout is set's archive interval (0 without spec.backup).
func (v *dataView) archiveTimeout(set string) time.Duration {
	if ms := v.fleet.MirrorSet(set); ms != nil && ms.Spec.Backup != nil {
		return ms.Spec.Backup.EffectiveArchiveTimeout()
	}
	return 0
}
