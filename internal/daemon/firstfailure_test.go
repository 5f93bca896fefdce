package daemon

import (
	"testing"
	"time"
)

func TestFirstFailureOf(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name    string
		streaks []time.Time
		healthy time.Time
		want    time.Time
	}{
		{"no streak", nil, at(0), time.Time{}},
		{"never seen healthy: the earliest streak", []time.Time{at(5), at(3)}, time.Time{}, at(3)},
		{"the earliest streak of this outage", []time.Time{at(12), at(11), at(13)}, at(10), at(11)},
		{"a dead observer's old failure does not count", []time.Time{at(-240), at(11), at(12)}, at(10), at(11)},
		{"a streak that began as the site was seen healthy counts", []time.Time{at(10)}, at(10), at(10)},
		{"only old streaks: none counts", []time.Time{at(-240), at(9)}, at(10), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstFailureOf(tc.streaks, tc.healthy); !got.Equal(tc.want) {
				t.Fatalf("firstFailureOf = %s, want %s", got, tc.want)
			}
		})
	}
}
