package dashboard

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
)

func TestReadinessOnThePage(t *testing.T) {
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	ready := &api.Readiness{At: now.Add(-10 * time.Second), Leader: "witness", Active: "east",
		Findings: []api.ReadinessFinding{
			{Check: "parity", Site: "west", Level: "ok", Message: "14 objects in sync"},
			{Check: "capacity", Site: "west", Level: "fail", Message: "needs 6 CPU, has 2", Action: "add nodes"},
			{Check: "images", Site: "west", Level: "warn", Message: "pull secret regcred missing"}},
		Parity: []api.SiteParity{
			{Site: "west", Counts: map[string]int{"in-sync": 14, "deferred": 1}},
			{Site: "far", Counts: map[string]int{"in-sync": 3, "missing": 2, "extra": 1},
				Off: []api.ParityLine{{Object: "ConfigMap/shop/a", State: "missing"}, {Object: "ConfigMap/shop/b", State: "missing", Reason: "new"}}, More: 4}}}
	for _, tc := range []struct {
		name   string
		r      *api.Readiness
		now    time.Time
		first  string // the first of the application's findings that the report adds
		parity []string
	}{
		{"not checked", nil, now, "", nil},
		{"a failed check and a site out of parity", ready, now, "bad: stand-by readiness: 2 check(s) failed, 1 warning(s)",
			[]string{"west ok: 14 in-sync, 1 deferred", "far bad: 3 in-sync, 2 missing, 1 extra"}},
		{"all well", &api.Readiness{At: now, Findings: ready.Findings[:1], Parity: ready.Parity[:1]}, now,
			"ok: stand-bys ready: 1 check(s) pass, objects in parity", []string{"west ok: 14 in-sync, 1 deferred"}},
		{"could not check", &api.Readiness{At: now, Error: "connecting to west: refused"}, now,
			"warn: stand-by readiness could not be checked: connecting to west: refused", nil},
		{"old", &api.Readiness{At: now.Add(-5 * time.Minute), Parity: ready.Parity[:1]}, now,
			"ok: stand-bys ready: 0 check(s) pass, objects in parity", []string{"west ok: 14 in-sync, 1 deferred"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := readinessView(tc.r, tc.now)
			got := readinessFindings(v)
			if tc.r == nil {
				if v != nil || got != nil {
					t.Fatalf("no report: view %+v, findings %+v; want none", v, got)
				}
				return
			}
			if len(got) == 0 || got[0].Level+": "+got[0].Text != tc.first {
				t.Errorf("findings %+v, want first %q", got, tc.first)
			}
			if stale := tc.now.Sub(tc.r.At) > StaleAfter; stale != v.Stale || stale != strings.Contains(got[len(got)-1].Text, "dates from") {
				t.Errorf("stale %v, findings %+v", v.Stale, got)
			}
			var parity []string
			for _, p := range v.Parity {
				parity = append(parity, p.Site+" "+p.Level+": "+p.Summary)
			}
			if strings.Join(parity, "|") != strings.Join(tc.parity, "|") {
				t.Errorf("parity %q, want %q", parity, tc.parity)
			}
		})
	}
	// The objects to act on are listed with the reason, and the rest counted.
	v := readinessView(ready, now)
	if off := v.Parity[1].Off; len(off) != 3 || off[1] != "ConfigMap/shop/b missing (new)" || !strings.HasPrefix(off[2], "and 4 more") {
		t.Errorf("far's objects %q", off)
	}
	if f := v.Findings[1]; f.Level != "bad" || f.Text != "capacity on west: needs 6 CPU, has 2 — add nodes" {
		t.Errorf("a failed finding reads %+v", f)
	}
	// The application's findings carry the summary, worst first.
	app := appView(api.App{Name: "shop", Active: "east", Verdicts: map[string]string{"east": "up"}, Readiness: ready}, now)
	if app.Readiness == nil || app.Findings[0].Text != "stand-by readiness: 2 check(s) failed, 1 warning(s)" {
		t.Errorf("the application's findings %+v", app.Findings)
	}
}
