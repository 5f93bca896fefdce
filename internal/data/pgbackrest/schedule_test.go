package pgbackrest

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	weekly := Schedule{Full: 168 * time.Hour, Incremental: time.Hour}
	full := func(label string, started time.Duration) Backup {
		return Backup{Label: label, Type: Full, Start: ago(started), Stop: ago(started - time.Minute)}
	}
	incr := func(label string, started time.Duration) Backup {
		return Backup{Label: label, Type: Incr, Prior: "F", Start: ago(started), Stop: ago(started - time.Minute)}
	}
	failed := func(b Backup) Backup { b.Error = true; return b }
	for _, tc := range []struct {
		name    string
		backups []Backup
		s       Schedule
		want    BackupType
	}{
		{"empty repository", nil, weekly, Full},
		{"only failed backups", []Backup{failed(full("F", time.Hour))}, weekly, Full},
		{"fresh full", []Backup{full("F", 10*time.Minute)}, weekly, ""},
		{"incremental due after the full", []Backup{full("F", 2*time.Hour)}, weekly, Incr},
		{"incremental due after the incremental", []Backup{full("F", 5*time.Hour), incr("I", 61*time.Minute)}, weekly, Incr},
		{"exactly the interval is due", []Backup{full("F", 5*time.Hour), incr("I", time.Hour)}, weekly, Incr},
		{"fresh incremental", []Backup{full("F", 5*time.Hour), incr("I", 59*time.Minute)}, weekly, ""},
		{"a failed newer incremental counts for nothing", []Backup{full("F", 5*time.Hour), incr("I", 2*time.Hour), failed(incr("J", time.Minute))}, weekly, Incr},
		{"full due wins over incremental", []Backup{full("F", 169*time.Hour), incr("I", 2*time.Hour)}, weekly, Full},
		{"full due although an incremental is fresh", []Backup{full("F", 169*time.Hour), incr("I", time.Minute)}, weekly, Full},
		// pgbackrest info lists oldest first, but the decision must not depend on it.
		{"order does not matter", []Backup{incr("I", 10*time.Minute), full("F", 5*time.Hour)}, weekly, ""},
		{"only full backups", []Backup{full("F", 23*time.Hour)}, Schedule{Full: 24 * time.Hour}, ""},
		{"only full backups, due", []Backup{full("F", 25*time.Hour)}, Schedule{Full: 24 * time.Hour}, Full},
		{"only incremental backups, first is full", nil, Schedule{Incremental: time.Hour}, Full},
		{"only incremental backups, never full again", []Backup{full("F", 1000*time.Hour), incr("I", 2*time.Hour)}, Schedule{Incremental: time.Hour}, Incr},
		{"no schedule", nil, Schedule{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Due(tc.backups, tc.s, now)
			if got.Type != tc.want {
				t.Fatalf("Due = %q (%s), want %q", got.Type, got.Reason, tc.want)
			}
			if got.Reason == "" {
				t.Fatal("no reason given")
			}
		})
	}
}
