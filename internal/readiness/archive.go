package readiness

import (
	"fmt"
	"time"

	"hadron.dev/hadron/internal/api"
)

// CheckArchiveLag is the check name of the archive lag's finding.
const CheckArchiveLag = "archive-lag"

// ArchiveFinding is the readiness finding of mirror set set's backup archive, as the
// daemon last observed it (nil: the set has no backup repository, no finding): a
// warning when the oldest WAL file waiting for archive_command has waited longer than
// the set's bound (spec.backup.archiveLagBound) or the archiver could not be read,
// since a restore after losing every copy would then lose more than the policy says.
func ArchiveFinding(set string, a *api.ArchiveLag) *api.ReadinessFinding {
	if a == nil {
		return nil
	}
	f := &api.ReadinessFinding{Check: CheckArchiveLag, Level: "ok"}
	switch {
	case a.Error != "":
		f.Level = "warn"
		f.Message = fmt.Sprintf("mirror set %s: archive lag unknown: %s", set, a.Error)
		f.Action = "hadron backup status " + set
	case a.OverBound:
		f.Level = "warn"
		waited := time.Duration(a.WaitingSeconds * float64(time.Second)).Round(time.Second)
		f.Message = fmt.Sprintf("mirror set %s: the oldest of %d WAL files on %s has waited %s for archive_command (bound %s); %d bytes are not in the archive",
			set, a.WaitingSegments, a.Primary, waited, a.Bound, a.LagBytes)
		if a.FailedCount > 0 {
			f.Message += fmt.Sprintf(", archive_command failed %d times (last on %s)", a.FailedCount, a.LastFailed)
		}
		f.Action = fmt.Sprintf("check archive_command on %s and the repository (hadron backup status %s)", a.Primary, set)
	default:
		f.Message = fmt.Sprintf("mirror set %s: archive lag %d bytes, %d WAL files waiting (bound %s)", set, a.LagBytes, a.WaitingSegments, a.Bound)
	}
	return f
}
