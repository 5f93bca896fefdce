package coordstate

import (
	"net/netip"
	"testing"

	"hadron.dev/hadron/api/v1alpha1"
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

// A pilot-light stand-by is down until it takes over: a fenced active site must still
// leave the main name, not be its all-down fallback.
func TestFenceStateOthersDown(t *testing.T) {
	app := &gslb.App{Name: "shop", Strategy: v1alpha1.StrategyFailover, Sites: []gslb.SiteTarget{{Name: "east"}, {Name: "west"}}}
	cases := []struct {
		name   string
		site   string
		health map[string]probe.Verdict
		want   map[string]probe.Verdict
		answer string
	}{
		{"fenced active with a down stand-by answers the stand-by", "east",
			map[string]probe.Verdict{"east": probe.Up, "west": probe.Down},
			map[string]probe.Verdict{"east": probe.Down, "west": probe.Unknown}, "west"},
		{"a fenced witness leaves an up site alone", "witness",
			map[string]probe.Verdict{"east": probe.Down, "west": probe.Up},
			map[string]probe.Verdict{"east": probe.Down, "west": probe.Up, "witness": probe.Down}, "west"},
		{"a fenced witness with every site down answers the active", "witness",
			map[string]probe.Verdict{"east": probe.Down, "west": probe.Down},
			map[string]probe.Verdict{"east": probe.Unknown, "west": probe.Unknown, "witness": probe.Down}, "east"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := gslb.State{Version: 1, Apps: map[string]gslb.AppState{"shop": {Active: "east", Health: c.health}}}
			got := FenceState(in, c.site, true).Apps["shop"]
			if len(got.Health) != len(c.want) {
				t.Errorf("health %v, want %v", got.Health, c.want)
			}
			for s, v := range c.want {
				if got.Health[s] != v {
					t.Errorf("%s: %s, want %s", s, got.Health[s], v)
				}
			}
			sel := app.Selector(got)
			if v, _ := sel.Pick(netip.Addr{}, 0); app.Sites[v].Name != c.answer {
				t.Errorf("main name answers %s, want %s", app.Sites[v].Name, c.answer)
			}
		})
	}
}
