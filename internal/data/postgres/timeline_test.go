package postgres

import (
	"testing"

	"hadron.dev/hadron/internal/data"
)

func TestStandbyTimeline(t *testing.T) {
	type obs struct {
		system    uint64
		timeline  uint32
		receiving bool
		want      uint32
	}
	for _, tc := range []struct {
		name string
		seq  []obs
	}{
		{"first sight is what it shows", []obs{{1, 1, false, 1}}},
		{"upstream lost before a restartpoint: the timeline it received", []obs{
			{1, 1, true, 1}, {1, 2, true, 2}, {1, 1, false, 2}}},
		{"a restartpoint catches up", []obs{{1, 2, true, 2}, {1, 1, false, 2}, {1, 2, false, 2}}},
		{"receiving again on an older timeline is believed (rewound or re-cloned)", []obs{
			{1, 3, true, 3}, {1, 2, true, 2}, {1, 1, false, 2}}},
		{"another system forgets the last", []obs{{1, 2, true, 2}, {7, 1, false, 1}}},
		{"a newer timeline in the control file wins", []obs{{1, 2, true, 2}, {1, 3, false, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]seenTimeline{}
			for i, o := range tc.seq {
				got := standbyTimeline(seen, data.MemberStatus{Member: "east-0", SystemID: o.system, Timeline: o.timeline}, o.receiving)
				if got != o.want {
					t.Fatalf("observation %d (%+v): timeline %d, want %d", i, o, got, o.want)
				}
			}
		})
	}
}
