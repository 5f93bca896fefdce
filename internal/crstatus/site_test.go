package crstatus

import (
	"testing"

	"hadron.dev/hadron/internal/api"
)

// obs builds an application's observations of one site: one entry per observer,
// "ok", "503" (an answer that fails the check) or "none" (no answer).
func obs(name, active, site, verdict string, results ...string) api.App {
	a := api.App{Name: name, Active: active, Verdicts: map[string]string{site: verdict}, Observations: map[string]map[string]api.Observation{}}
	for i, r := range results {
		a.Observations[string(rune('a'+i))] = map[string]api.Observation{site: {OK: r == "ok", Reached: r != "none"}}
	}
	return a
}

func TestSiteConditions(t *testing.T) {
	cases := []struct {
		name            string
		site            string
		st              api.Status
		ready, degraded string
	}{
		{"active and up", "east", api.Status{Apps: []api.App{obs("shop", "east", "east", "up", "ok", "ok", "ok")}},
			"True/SiteAnswers", "False/NoneDown"},
		{"a pilot-light stand-by answers 503: there, not degraded", "west", api.Status{Apps: []api.App{obs("shop", "east", "west", "down", "503", "503", "503")}},
			"True/SiteAnswers", "False/NoneDown"},
		{"region lost, the application still active there", "east", api.Status{Apps: []api.App{obs("shop", "east", "east", "down", "none", "none", "none")}},
			"False/SiteDown", "True/ApplicationsDown"},
		{"region lost after the failover", "east", api.Status{Apps: []api.App{obs("shop", "west", "east", "down", "none", "none", "none")}},
			"False/SiteDown", "False/NoneDown"},
		{"only its own observer reaches it: cut off", "east", api.Status{Apps: []api.App{obs("shop", "west", "east", "down", "ok", "none", "none")}},
			"False/SiteDown", "False/NoneDown"},
		{"answers for one application, not another", "east", api.Status{Apps: []api.App{obs("shop", "east", "east", "up", "ok", "ok", "ok"), obs("blog", "east", "east", "down", "none", "none", "ok")}},
			"True/SiteAnswers", "True/ApplicationsDown"},
		{"witness that leads", "witness", api.Status{Leader: "witness", Apps: []api.App{obs("shop", "east", "east", "up", "ok")}},
			"True/LeaderDaemon", "False/NoneDown"},
		{"witness that does not lead", "witness", api.Status{Leader: "west"},
			"Unknown/NotProbed", "False/NoneDown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := Site(c.site, c.st)
			got := map[string]string{}
			for _, cd := range st.Conditions {
				got[cd.Type] = string(cd.Status) + "/" + cd.Reason
			}
			if got["Ready"] != c.ready || got["Degraded"] != c.degraded || len(st.Conditions) != 2 {
				t.Errorf("Site(%s) = %v, want Ready %s, Degraded %s", c.site, got, c.ready, c.degraded)
			}
		})
	}
}

func TestSiteNamesAFewDownApplications(t *testing.T) {
	var apps []api.App
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		apps = append(apps, obs(n, "east", "east", "down", "none"))
	}
	st := Site("east", api.Status{Apps: apps})
	if got, want := st.Conditions[1].Message, "active here and down by quorum: a, b, c and 2 more"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
