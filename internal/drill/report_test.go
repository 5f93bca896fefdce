package drill

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func attempt(seq int64, sent, done int, ok bool) load.Attempt {
	return load.Attempt{Seq: seq, Sent: ms(sent), Done: ms(done), OK: ok}
}

func TestClientView(t *testing.T) {
	tests := []struct {
		name     string
		attempts []load.Attempt
		rto      time.Duration
		longest  time.Duration
	}{
		{"no outage", []load.Attempt{attempt(1, -100, -90, true), attempt(2, 100, 110, true)}, 0, 0},
		{"one outage after the fault", []load.Attempt{attempt(1, -100, -90, true), attempt(2, 100, 2100, false),
			attempt(3, 2200, 4000, false), attempt(4, 5000, 5020, true)}, 5020 * time.Millisecond, 4920 * time.Millisecond},
		{"two windows: rto ends with the last, longest is the longer", []load.Attempt{attempt(1, 0, 10, false), attempt(2, 100, 3000, true),
			attempt(3, 4000, 4100, false), attempt(4, 4200, 4500, true)}, 4500 * time.Millisecond, 3000 * time.Millisecond},
		{"never recovered", []load.Attempt{attempt(1, -100, -90, true), attempt(2, 100, 2100, false)}, -1, 0},
		{"an outage over before the fault is not counted", []load.Attempt{attempt(1, -900, -800, false), attempt(2, -500, -400, true),
			attempt(3, 100, 200, true)}, 0, 0},
		{"an outage open at the fault counts from the fault", []load.Attempt{attempt(1, -500, -400, false), attempt(2, 1000, 1500, true)},
			1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rto, longest := clientView(t0, tt.attempts)
			if rto != tt.rto || longest != tt.longest {
				t.Fatalf("clientView = %s, %s; want %s, %s", rto, longest, tt.rto, tt.longest)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	verified := ms(6500)
	run := &runbook.Record{ID: "r1", From: "east", To: "west", Verified: &verified,
		RPO: &data.Loss{Bytes: 4096, Transactions: 12, Counted: true}}
	res := &load.Result{Attempts: []load.Attempt{attempt(1, -100, -90, true), attempt(2, 100, 2100, false), attempt(3, 7000, 7010, true)}}
	p := Measure(runbook.Failover, t0, run, res, &load.Verification{Lost: []int64{1}})
	if p.SystemRTO != 6500*time.Millisecond || p.ClientRTO != 7010*time.Millisecond || p.Acked != 2 || p.Failed != 1 ||
		len(p.Lost) != 1 || p.RPOTransactions != 12 || p.RPOBytes != 4096 || p.From != "east" || p.To != "west" {
		t.Fatalf("Measure = %+v", p)
	}
	uncounted := &runbook.Record{Verified: &verified, RPO: &data.Loss{Bytes: 100}}
	if p := Measure(runbook.Failover, t0, uncounted, nil, nil); p.RPOTransactions != -1 || p.RPOBytes != 100 || p.Lost == nil {
		t.Fatalf("uncounted loss: %+v", p)
	}
}

func TestSummarize(t *testing.T) {
	var reports []Report
	for i, sys := range []int{5000, 7000, 6000, 9000} {
		r := Report{Drill: &Phase{SystemRTO: time.Duration(sys) * time.Millisecond, ClientRTO: time.Duration(sys+3000) * time.Millisecond,
			Unavailable: time.Duration(sys-1000) * time.Millisecond,
			Lost:        make([]int64, i), RPOTransactions: int64(i * 10)}}
		r.Failback = &Phase{Unavailable: time.Duration(100*(i+1)) * time.Millisecond, Lost: []int64{}}
		reports = append(reports, r)
	}
	reports = append(reports, Report{Error: "drill failed: fault"}) // measured nothing: not counted
	s := Summarize(reports)
	if s.Drills != 4 || s.SystemRTO != [2]time.Duration{6 * time.Second, 9 * time.Second} ||
		s.ClientRTO[1] != 12*time.Second || s.Unavailable != [2]time.Duration{5 * time.Second, 8 * time.Second} || s.LostWrites != [2]int{1, 3} || s.RPOTransactions != [2]int64{10, 30} ||
		s.FailbackUnavailable != [2]time.Duration{200 * time.Millisecond, 400 * time.Millisecond} || s.FailbackLost != 0 {
		t.Fatalf("Summarize = %+v", s)
	}
}

// The first failed probe → verified figure is printed only when the daemons dated the
// fault at or after the drill injected it; an earlier date is another fault's.
func TestPrintCountsOnlyThisOutagesFirstFailedProbe(t *testing.T) {
	verified, decided := ms(6500), ms(4000)
	for _, tc := range []struct {
		name  string
		first time.Time
		want  string
	}{
		{"after the fault", ms(300), "first failed probe → verified 6.2s"},
		{"minutes before the fault", ms(-238000), "first failed probe 3m58s before the fault, not counted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.first
			run := &runbook.Record{From: "east", To: "west", Decided: decided, Verified: &verified, FirstFailedProbe: &first,
				RTO: runbook.Duration(verified.Sub(decided)), SystemRTO: runbook.Duration(verified.Sub(first))}
			var b strings.Builder
			p := Measure(runbook.Failover, t0, run, nil, nil)
			r := Report{App: "shop", Trigger: TriggerAuto, Fault: "hadron lab fail site east", Drill: &p}
			r.Print(&b)
			if !strings.Contains(b.String(), tc.want) {
				t.Fatalf("report lacks %q:\n%s", tc.want, b.String())
			}
			if tc.first.Before(t0) && strings.Contains(b.String(), "first failed probe →") {
				t.Fatalf("report counts a failure from before the fault:\n%s", b.String())
			}
		})
	}
}

// A run that was not verified has no system RTO to print.
func TestPrintClaimsNoSystemRTOWithoutVerification(t *testing.T) {
	run := &runbook.Record{From: "east", To: "west", Status: runbook.StatusFailed}
	p := Measure(runbook.Failover, t0, run, nil, nil)
	var b strings.Builder
	(&Report{App: "shop", Trigger: TriggerAuto, Drill: &p, Error: "drill failed: run r1 closed failed"}).Print(&b)
	if !strings.Contains(b.String(), "system RTO: not measured") || strings.Contains(b.String(), "system RTO (start") {
		t.Fatalf("report:\n%s", b.String())
	}
}
