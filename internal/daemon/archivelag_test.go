package daemon

import (
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/data/postgres"
)

func TestArchiveLagView(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	archived := now.Add(-10 * time.Second)
	for _, tc := range []struct {
		name         string
		a            *postgres.ArchiveStatus
		err          error
		waited       float64
		over         bool
		wantErr      string
		lastArchived time.Time
	}{
		{name: "nothing waiting", a: &postgres.ArchiveStatus{Primary: "east-0", Lag: 4096, ArchivedAt: archived}, lastArchived: archived},
		{name: "waiting within the bound", a: &postgres.ArchiveStatus{Primary: "east-0", Lag: 3 << 24, Waiting: 2,
			OldestWaitingSince: now.Add(-90 * time.Second), ArchivedAt: archived}, waited: 90, lastArchived: archived},
		{name: "exactly the bound is within it", a: &postgres.ArchiveStatus{Primary: "east-0", Waiting: 1,
			OldestWaitingSince: now.Add(-2 * time.Minute)}, waited: 120},
		{name: "over the bound", a: &postgres.ArchiveStatus{Primary: "east-0", Waiting: 5, FailedCount: 7, LastFailed: "000000010000000000000003",
			OldestWaitingSince: now.Add(-3 * time.Minute)}, waited: 180, over: true},
		{name: "a mark from a clock ahead counts as just now", a: &postgres.ArchiveStatus{Primary: "east-0", Waiting: 1,
			OldestWaitingSince: now.Add(time.Second)}},
		{name: "unreadable", err: errors.New("connection refused"), wantErr: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := archiveLagView(tc.a, tc.err, 2*time.Minute, now)
			if got.Bound != "2m0s" || got.Error != tc.wantErr || got.WaitingSeconds != tc.waited || got.OverBound != tc.over ||
				!got.LastArchivedAt.Equal(tc.lastArchived) {
				t.Fatalf("got %+v", got)
			}
			if tc.a != nil && (got.Primary != tc.a.Primary || got.LagBytes != tc.a.Lag || got.WaitingSegments != tc.a.Waiting ||
				got.FailedCount != tc.a.FailedCount || got.LastFailed != tc.a.LastFailed) {
				t.Fatalf("got %+v from %+v", got, tc.a)
			}
		})
	}
}

// TestArchiveSeen: only a reading of a primary's archiver is kept for a failover's
// prediction, with the set's archive interval.
func TestArchiveSeen(t *testing.T) {
	for _, c := range []struct {
		name string
		in   *api.ArchiveLag
		want bool
	}{
		{"no reading", nil, false},
		{"an error", &api.ArchiveLag{Error: "no primary"}, false},
		{"no primary", &api.ArchiveLag{}, false},
		{"a reading", &api.ArchiveLag{Primary: "east-0", Current: "0/3001000", LagBytes: 4096, WaitingSeconds: 1.5}, true},
	} {
		got := archiveSeen(c.in, 30*time.Second)
		if (got != nil) != c.want {
			t.Errorf("%s: archiveSeen = %+v, want kept %v", c.name, got, c.want)
			continue
		}
		if got != nil && (got.LagBytes != 4096 || got.Current != 0x3001000 || got.Waiting != 1500*time.Millisecond || got.Bound() != 31500*time.Millisecond) {
			t.Errorf("%s: archiveSeen = %+v, want 4096 bytes, 1.5s waiting, bound 31.5s", c.name, got)
		}
	}
}
