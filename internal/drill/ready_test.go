package drill

import (
	"errors"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/api"
)

// TestReadyIn: a drill does not start while a run of its application is open (an
// automatic failover that began under load before the fault was once taken for the
// drill's), nor when the application is away from the site it moves it from.
func TestReadyIn(t *testing.T) {
	st := func(active string, run *api.OpenRun) api.Status {
		return api.Status{Apps: []api.App{{Name: "other", Active: "x", Run: &api.OpenRun{ID: "r0", Status: "running"}}, {Name: "shop", Active: active, Run: run}}}
	}
	for _, tc := range []struct {
		name string
		st   api.Status
		from string
		want string // "" ready; else a word of the refusal
	}{
		{name: "quiet, at home", st: st("east", nil), from: "east"},
		{name: "another application's open run does not matter", st: st("east", nil), from: "east"},
		{name: "a running failover", st: st("east", &api.OpenRun{ID: "r1", Kind: "failover", Status: "running", StepName: "fence"}), from: "east", want: "r1"},
		{name: "a failed run waits for a person", st: st("east", &api.OpenRun{ID: "r2", Kind: "switchover", Status: "failed", StepName: "promote"}), from: "east", want: "failed"},
		{name: "away from the drill's from", st: st("west", nil), from: "east", want: "active at west"},
		{name: "no from to compare", st: st("west", nil)},
		{name: "application unknown to the status", st: api.Status{}, from: "east"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readyIn(tc.st, "shop", tc.from)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !errors.Is(err, ErrDrill) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want a drill error naming %q", err, tc.want)
			}
		})
	}
}
