package dashboard

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)

func at(ms int) *time.Time { t := t0.Add(time.Duration(ms) * time.Millisecond); return &t }

var topo = Topology{Sites: []SiteInfo{
	{Name: "east", Region: "us-east", Zones: []string{"a", "b"}},
	{Name: "west", Region: "us-west", Zones: []string{"c"}},
	{Name: "witness", Region: "us-central", Witness: true},
	{Name: "east2", Region: "us-east"},
}, Bounds: map[string]string{"pg": "RPO 0 in the region (synchronous)"}, SetApps: map[string][]string{"pg": {"shop"}}}

func status(verdicts map[string]string, obs map[string]map[string]api.Observation) api.Status {
	return api.Status{Daemon: "west", Leader: "east", LeaderToken: 42, Etcd: api.Etcd{Quorum: true},
		Apps: []api.App{{Name: "shop", Active: "east", Standby: "warm", Verdicts: verdicts, Observations: obs,
			DNS: &api.DNS{Name: "shop.example", Answers: []string{"10.0.0.1"}}}}}
}

func TestBuildRegionsAndHealth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verdicts map[string]string
		want     map[string]string // site → health on the map
	}{
		{"all up", map[string]string{"east": "up", "west": "up"}, map[string]string{"east": "up", "west": "up", "witness": "witness", "east2": "unknown"}},
		{"east failed", map[string]string{"east": "down", "west": "up"}, map[string]string{"east": "down", "west": "up"}},
		{"a verdict the map does not know is unknown", map[string]string{"east": "flapping"}, map[string]string{"east": "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Build(Input{Status: status(tc.verdicts, nil), Topology: topo, Now: t0})
			var regions []string
			got := map[string]string{}
			for _, r := range v.Regions {
				names := []string{}
				for _, s := range r.Sites {
					names = append(names, s.Name)
					got[s.Name] = s.Health
				}
				regions = append(regions, r.Name+":"+strings.Join(names, ","))
			}
			if w := "us-east:east,east2 us-west:west us-central:witness"; strings.Join(regions, " ") != w {
				t.Errorf("regions %v, want %s", regions, w)
			}
			for site, h := range tc.want {
				if got[site] != h {
					t.Errorf("%s is %q on the map, want %q", site, got[site], h)
				}
			}
			east := v.Regions[0].Sites[0]
			if !east.Leader || len(east.Active) != 1 || east.Answering {
				t.Errorf("east %+v: want leader, shop active, not answering", east)
			}
		})
	}
}

func TestBuildMatrix(t *testing.T) {
	obs := map[string]map[string]api.Observation{
		"west":    {"east": {OK: false, Error: "connection refused", LatencyMS: 0.4}, "west": {OK: true, LatencyMS: 1.5}},
		"witness": {"east": {OK: true, LatencyMS: 2}},
	}
	m := Build(Input{Status: status(map[string]string{"east": "down", "west": "up"}, obs), Topology: topo}).Apps[0].Matrix
	if strings.Join(m.Observers, ",") != "west,witness" || strings.Join(m.Sites, ",") != "east,west" {
		t.Fatalf("observers %v sites %v", m.Observers, m.Sites)
	}
	want := [][]string{{"failed", "ok"}, {"ok", "none"}}
	for i := range want {
		for j := range want[i] {
			if m.Cells[i][j].State != want[i][j] {
				t.Errorf("cell %s×%s = %s, want %s", m.Observers[i], m.Sites[j], m.Cells[i][j].State, want[i][j])
			}
		}
	}
	if m.Cells[0][0].Error != "connection refused" || strings.Join(m.Verdicts, ",") != "down,up" {
		t.Errorf("error %q verdicts %v", m.Cells[0][0].Error, m.Verdicts)
	}
}

func TestFindings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		app   api.App
		first string // the worst finding comes first
		count int
	}{
		{"healthy", api.App{Active: "east", Verdicts: map[string]string{"east": "up"}}, "ok: active site east is up by quorum", 1},
		{"active down, a failed run", api.App{Active: "east", Verdicts: map[string]string{"east": "down", "west": "up"},
			Run: &api.OpenRun{Kind: "failover", To: "west", Status: "failed", Step: 2, Steps: 5, StepName: "promote"}},
			"bad: active site east is down by quorum", 2},
		{"data behind", api.App{Active: "east", Verdicts: map[string]string{"east": "up"}, Data: &api.DataSet{Name: "pg", Primary: "pg-east",
			Members: []api.DataMember{{Name: "pg-west", LagBytes: 4096, LagSeconds: 1.5}, {Name: "pg-far", State: "diverged"}}}},
			"warn: member pg-west is 4096 bytes (1.5 s) behind", 3},
		{"no primary", api.App{Active: "east", Verdicts: map[string]string{"east": "up"}, Data: &api.DataSet{Name: "pg"}},
			"bad: mirror set pg has no primary accepting writes", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := findings(tc.app, nil)
			if len(f) != tc.count || f[0].Level+": "+f[0].Text != tc.first {
				t.Errorf("findings %+v, want %d starting %q", f, tc.count, tc.first)
			}
		})
	}
}

func TestBuildRunsLedgerAndCaller(t *testing.T) {
	open := runbook.Record{App: "shop", ID: "r9", Kind: runbook.Switchover, From: "east", To: "west", Who: "ops", Decided: *at(0),
		Status: runbook.StatusRunning, Steps: []runbook.StepRecord{{Name: "fence", Started: at(0), Ended: at(100)}, {Name: "dns", Started: at(100)}, {Name: "verify"}}}
	var hist []runbook.Record
	for i := range LedgerRows + 5 {
		hist = append(hist, runbook.Record{App: "shop", ID: "h" + string(rune('a'+i%26)), Kind: runbook.Failover, Decided: *at(-100000 + i*1000),
			Status: runbook.StatusDone, RTO: runbook.Duration(time.Duration(i+1) * time.Second), RPO: &data.Loss{Transactions: 2, Counted: true}})
	}
	v := Build(Input{Status: status(nil, nil), Topology: topo, Open: []runbook.Record{open}, History: hist, Now: *at(600),
		Caller: apitoken.Identity{Name: "viewer", Roles: []apitoken.Role{apitoken.Read}}})
	if v.Caller.CanOperate || v.Caller.Name != "viewer" {
		t.Errorf("caller %+v: a read token cannot operate", v.Caller)
	}
	if len(v.Runs) != 1 || v.Runs[0].Done != 1 || v.Runs[0].Steps != 3 || !strings.Contains(v.Runs[0].SVG, "<svg") {
		t.Fatalf("runs %+v", v.Runs)
	}
	if b := v.Runs[0].Timeline.Bars[1]; b.State != "running" || b.End != 600*time.Millisecond {
		t.Errorf("the running step's bar %+v: want it running until now", b)
	}
	if len(v.Ledger) != LedgerRows || v.Ledger[0].RTO != "55s" || v.Ledger[0].RPO != "2 tx (0 B)" {
		t.Errorf("ledger %d rows, first %+v: want the newest first, %d rows", len(v.Ledger), v.Ledger[0], LedgerRows)
	}
	if len(v.Charts) != 1 || len(Points(hist, "shop")) != ChartRuns {
		t.Errorf("charts %d, points %d", len(v.Charts), len(Points(hist, "shop")))
	}
}
