package pgbackrest

import (
	"fmt"
	"time"
)

// Schedule is how old the newest backups may grow; a zero interval takes no backups
// of that type by the schedule.
type Schedule struct {
	Full, Incremental time.Duration
}

// Decision is what a schedule asks for now: a backup of Type, or none (Type empty),
// and why, for the log.
type Decision struct {
	Type   BackupType
	Reason string
}

// Due is the backup the schedule s asks for at now, given the repository's backups
// (pgbackrest info's list, oldest first). Ages count from a backup's start: a slow
// backup does not push the next one later, so the interval stays the one asked for.
// Failed backups count for nothing. The repository, not the caller's memory, is the
// record, so whoever decides next (a new leader) decides the same.
//
// The rules: no backup at all, or a newest full one older than s.Full, is a full
// backup; otherwise a newest backup of any type older than s.Incremental is an
// incremental one. With only Incremental set, the first backup is still full
// (pgBackRest would make it full anyway) and later ones incremental.
func Due(backups []Backup, s Schedule, now time.Time) Decision {
	var lastFull, last *Backup
	for i := range backups {
		b := &backups[i]
		if b.Error {
			continue
		}
		if last == nil || b.Start.After(last.Start) {
			last = b
		}
		if b.Type == Full && (lastFull == nil || b.Start.After(lastFull.Start)) {
			lastFull = b
		}
	}
	switch {
	case s.Full <= 0 && s.Incremental <= 0:
		return Decision{Reason: "no schedule"}
	case lastFull == nil:
		return Decision{Type: Full, Reason: "no full backup in the repository"}
	case s.Full > 0 && now.Sub(lastFull.Start) >= s.Full:
		return Decision{Type: Full, Reason: fmt.Sprintf("newest full backup %s started %s ago (schedule %s)", lastFull.Label, age(now, lastFull.Start), s.Full)}
	case s.Incremental > 0 && now.Sub(last.Start) >= s.Incremental:
		return Decision{Type: Incr, Reason: fmt.Sprintf("newest backup %s started %s ago (schedule %s)", last.Label, age(now, last.Start), s.Incremental)}
	}
	return Decision{Reason: fmt.Sprintf("newest backup %s started %s ago", last.Label, age(now, last.Start))}
}

func age(now, t time.Time) time.Duration { return now.Sub(t).Round(time.Second) }
