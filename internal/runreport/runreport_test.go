package runreport

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)

func at(ms int) *time.Time { t := t0.Add(time.Duration(ms) * time.Millisecond); return &t }

func phase(lost []int64) *drill.Phase {
	return &drill.Phase{Kind: runbook.Failover, From: "east", To: "west", Start: *at(0),
		SystemRTO: 3500 * time.Millisecond, ClientRTO: 4 * time.Second, Unavailable: 3900 * time.Millisecond,
		Acked: 200, Failed: 12, Lost: lost, RPOTransactions: int64(len(lost)), RPOBytes: 96,
		Run: &runbook.Record{ID: "r1", Who: "auto", Decided: *at(1000), Verified: at(3500), Closed: at(3600),
			Steps: []runbook.StepRecord{{Name: "fence", Started: at(1000), Ended: at(1200), Token: 7, Detail: "east"},
				{Name: runbook.StepDNS, Started: at(1200), Ended: at(2000), Token: 7}}}}
}

func TestDrillVerdict(t *testing.T) {
	s := Settings{Trigger: "auto", Fault: "hadron lab fail site east", From: "east", To: "west", Rate: 50}
	for _, tc := range []struct {
		name    string
		reports []drill.Report
		failed  *drill.Report
		broken  []string
		err     string
		verdict string
		bad     bool
		nSect   int
	}{
		{"passed", []drill.Report{{App: "shop", Drill: phase(nil)}}, nil, nil, "",
			"The drill passed: failover east → west, system RTO 3.5s, longest write outage 3.9s, 0 acknowledged writes lost", false, 1},
		{"broken promise", []drill.Report{{App: "shop", Drill: phase([]int64{4, 5}), Failback: phase(nil)}}, nil,
			[]string{"failover east → west lost 2 acknowledged writes"}, "",
			"Broken promise: failover east → west lost 2 acknowledged writes", true, 2},
		{"failed drill keeps what it measured", nil, &drill.Report{App: "shop", Drill: phase(nil)}, nil, "the run did not close",
			"The drill failed: the run did not close", true, 1},
		{"nothing measured", nil, &drill.Report{App: "shop"}, nil, "", "Nothing was measured.", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Drill("shop", tc.reports, tc.failed, nil, tc.broken, tc.err, s, t0)
			if p.Verdict != tc.verdict || p.Bad != tc.bad {
				t.Errorf("verdict = %q (bad %v), want %q (bad %v)", p.Verdict, p.Bad, tc.verdict, tc.bad)
			}
			if len(p.Sections) != tc.nSect {
				t.Errorf("%d sections, want %d", len(p.Sections), tc.nSect)
			}
		})
	}
}

func TestRunPage(t *testing.T) {
	r := phase(nil).Run
	r.App, r.Kind, r.From, r.To, r.Status = "shop", runbook.Failover, "east", "west", runbook.StatusDone
	r.RTO = runbook.Duration(2500 * time.Millisecond)
	r.RPO = &data.Loss{Bytes: 0, Transactions: 0, Counted: true}
	p := Run(r, *at(9000))
	if p.Title != "Failover r1 of shop" || p.Bad {
		t.Errorf("title %q bad %v", p.Title, p.Bad)
	}
	facts := map[string]string{}
	for _, f := range p.Sections[0].Facts {
		facts[f.Label] = f.Value
	}
	if facts["RTO (decision → verified)"] != "2.5s" || facts["RPO"] != "0 transactions (0 bytes)" {
		t.Errorf("facts = %v", facts)
	}
}

// The report is one file: nothing is loaded from elsewhere, nothing runs, and what a
// fault command holds is shown, not interpreted.
func TestWriteSelfContained(t *testing.T) {
	s := Settings{Trigger: "auto", Fault: `kill "<script>alert(1)</script>"`, From: "east", To: "west"}
	var b bytes.Buffer
	if err := Write(&b, Drill("shop", []drill.Report{{App: "shop", Drill: phase(nil), Failback: phase(nil)}}, nil, nil, nil, "", s, t0)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if regexp.MustCompile(`(?i)<script|\b(src|href)=|@import|url\(`).MatchString(out) {
		t.Errorf("report loads or runs something:\n%s", out)
	}
	for _, want := range []string{"<svg", "first accepted write", "DNS answers west", "&lt;script&gt;", `id="run1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.HasPrefix(SVG(Drill("shop", []drill.Report{{Drill: phase(nil)}}, nil, nil, nil, "", s, t0)), "<?xml") {
		t.Error("SVG file lacks its XML declaration")
	}
}
