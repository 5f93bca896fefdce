package daemon

import (
	"testing"

	"hadron.dev/hadron/internal/runbook"
)

func TestUnfenceAllowed(t *testing.T) {
	failback := &runbook.Record{ID: "r1", Kind: runbook.Failback, From: "west", To: "east", Promoted: "east-1"}
	away := &runbook.Record{ID: "r2", Kind: runbook.Switchover, From: "east", To: "west", Promoted: "west-0"}
	for _, tc := range []struct {
		name           string
		active, member string
		open           *runbook.Record
		ok             bool
	}{
		{"still active here, nothing open", "east", "east-0", nil, true},
		{"moved away while cut off", "west", "east-0", nil, false},
		{"a run moving here promoted this member", "west", "east-1", failback, true},
		{"a run moving here promoted another member", "west", "east-0", failback, false},
		{"a run moving away (its fence-writes fenced it)", "east", "east-0", away, false},
		{"a run moving here before its promotion", "west", "east-1", &runbook.Record{ID: "r3", To: "east"}, false},
	} {
		err := unfenceAllowed("shop", tc.active, "east", tc.member, tc.open)
		if (err == nil) != tc.ok {
			t.Errorf("%s: unfenceAllowed = %v, want allowed %v", tc.name, err, tc.ok)
		}
	}
}
