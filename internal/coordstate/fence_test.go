package coordstate

import (
	"testing"

	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

func TestFenceState(t *testing.T) {
	in := gslb.State{Version: 7, Apps: map[string]gslb.AppState{
		"shop": {Active: "east", Health: map[string]probe.Verdict{"east": probe.Up, "west": probe.Up}},
		"blog": {},
	}}
	cases := []struct {
		name    string
		site    string
		fenced  bool
		version uint64
		want    map[string]map[string]probe.Verdict
	}{
		{"not fenced keeps the state", "east", false, 14,
			map[string]map[string]probe.Verdict{"shop": {"east": probe.Up, "west": probe.Up}, "blog": nil}},
		{"fenced marks the own site down everywhere", "east", true, 15,
			map[string]map[string]probe.Verdict{"shop": {"east": probe.Down, "west": probe.Up}, "blog": {"east": probe.Down}}},
		{"a witness fences a site no app runs on", "witness", true, 15,
			map[string]map[string]probe.Verdict{"shop": {"east": probe.Up, "west": probe.Up, "witness": probe.Down}, "blog": {"witness": probe.Down}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FenceState(in, c.site, c.fenced)
			if got.Version != c.version {
				t.Errorf("version %d, want %d", got.Version, c.version)
			}
			for app, want := range c.want {
				h := got.Apps[app].Health
				if len(h) != len(want) {
					t.Errorf("%s: health %v, want %v", app, h, want)
				}
				for s, v := range want {
					if h[s] != v {
						t.Errorf("%s/%s: %s, want %s", app, s, h[s], v)
					}
				}
			}
			if got.Apps["shop"].Active != "east" {
				t.Errorf("active changed: %q", got.Apps["shop"].Active)
			}
		})
	}
	// The input is never mutated.
	if in.Apps["shop"].Health["east"] != probe.Up {
		t.Fatal("FenceState mutated its input")
	}
}
