package crstatus

import (
	"testing"

	"hadron.dev/hadron/internal/api"
)

func TestSiteConditions(t *testing.T) {
	app := func(name string, verdicts map[string]string) api.App {
		return api.App{Name: name, Verdicts: verdicts}
	}
	cases := []struct {
		name            string
		site            string
		st              api.Status
		ready, degraded string
	}{
		{"all up", "east", api.Status{Apps: []api.App{app("shop", map[string]string{"east": "up"}), app("blog", map[string]string{"east": "up", "west": "down"})}},
			"True/SiteUp", "False/NoneDown"},
		{"region lost", "east", api.Status{Apps: []api.App{app("shop", map[string]string{"east": "down"}), app("blog", map[string]string{"east": "down"})}},
			"False/SiteDown", "True/ApplicationsDown"},
		{"some down", "west", api.Status{Apps: []api.App{app("shop", map[string]string{"west": "up"}), app("blog", map[string]string{"west": "down"})}},
			"True/SiteUp", "True/ApplicationsDown"},
		{"unknown verdicts count for nothing", "east", api.Status{Apps: []api.App{app("shop", map[string]string{"east": "unknown"})}},
			"Unknown/NotProbed", "False/NoneDown"},
		{"witness that leads", "witness", api.Status{Leader: "witness", Apps: []api.App{app("shop", map[string]string{"east": "up"})}},
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
		apps = append(apps, api.App{Name: n, Verdicts: map[string]string{"east": "down"}})
	}
	st := Site("east", api.Status{Apps: apps})
	if got, want := st.Conditions[1].Message, "down by quorum: a, b, c and 2 more"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
