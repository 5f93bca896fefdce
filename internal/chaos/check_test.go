package chaos

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func ack(client string, seq int64, sent, done float64, member, site string) Write {
	return Write{Client: client, Target: "main", Seq: seq, Sent: at(sent), Done: at(done), OK: true, Member: member, MemberSite: site}
}

// run is a closed run decided at d, its fence ended at d+0.5 and closed at c.
func run(kind runbook.Kind, from, to string, d, c float64, rpo *data.Loss) runbook.Record {
	fence, closed := at(d+0.5), at(c)
	return runbook.Record{ID: string(kind) + "-" + from + "-" + to, Kind: kind, From: from, To: to, Who: "auto",
		Decided: at(d), Closed: &closed, Status: runbook.StatusDone, RPO: rpo,
		Steps: []runbook.StepRecord{{Name: "fence", Ended: &fence}}}
}

func base() *History {
	return &History{Start: at(0), End: at(600), Regions: map[string]string{"east": "us-east-1", "west": "us-west-2", "witness": "eu-central-1"}}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		h    func(h *History)
		want []int // invariants violated, in report order
	}{
		{"quiet run", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 2, 2.1, "east-0", "east")}
		}, nil},
		{"one failover explains the change of writer", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Counted: true, Method: "waldump"})}
		}, nil},
		{"two sites taking turns is split brain", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("d", 1, 1.2, 1.3, "west-0", "west"),
				ack("c", 2, 1.4, 1.5, "east-0", "east"), ack("d", 2, 1.6, 1.7, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 0.5, 2, &data.Loss{Counted: true, Method: "waldump"})}
		}, []int{SplitBrain, SplitBrain}},
		{"overlapping writes prove no order", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 3, "east-0", "east"), ack("d", 1, 1.2, 1.3, "west-0", "west"), ack("c", 2, 1.0, 3.5, "east-0", "east")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 1, 2, nil)}
		}, nil},
		{"a change of writer with no run", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 60, 60.1, "west-0", "west")}
		}, []int{SplitBrain}},
		{"in-region member change is not a change of site", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 5, 5.1, "east-1", "east")}
		}, nil},
		{"switchover that lost a write", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Switchover, "east", "west", 4, 6, nil)}
			h.Lost = map[string][]int64{"c": {1}}
		}, []int{NoLoss}},
		{"cross-region failover loss counted by the ledger", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Counted: true, Transactions: 1, Bytes: 100, Method: "waldump"})}
			h.Lost = map[string][]int64{"c": {1}}
		}, nil},
		{"ledger under-reports the loss", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 1.2, 1.3, "east-0", "east"), ack("c", 3, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Counted: true, Transactions: 1, Method: "waldump"})}
			h.Lost = map[string][]int64{"c": {1, 2}}
		}, []int{LossShown}},
		{"ledger says nothing was lost, not counted", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Transactions: -1, Method: "positions"})}
			h.Lost = map[string][]int64{"c": {1}}
		}, []int{LossShown}},
		{"synchronous set promises RPO 0 across regions", func(h *History) {
			h.Synchronous = true
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 8, 8.1, "west-0", "west")}
			h.Runs = []runbook.Record{run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Counted: true, Transactions: 1, Method: "waldump"})}
			h.Lost = map[string][]int64{"c": {1}}
		}, []int{NoLoss}},
		{"loss with no move at all", func(h *History) {
			h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east")}
			h.Lost = map[string][]int64{"c": {1}}
		}, []int{NoLoss}},
		{"DNS moves within TTL + detection", func(h *History) {
			h.Faults = []Fault{{At: at(10), Action: "fail site east", Kills: "east"}, {At: at(100), Action: "restore site east", Kills: "east", Repair: true}}
			h.DNS = []DNSSample{{At: at(15), Server: "ns-west", Site: "east"}, {At: at(25), Server: "ns-west", Site: "west"}}
			h.Health = []Health{{At: at(130), OK: true}}
		}, nil},
		{"DNS answers a dead site too long", func(h *History) {
			h.Faults = []Fault{{At: at(10), Action: "fail site east", Kills: "east"}, {At: at(100), Action: "restore site east", Kills: "east", Repair: true}}
			h.DNS = []DNSSample{{At: at(15), Server: "ns-west", Site: "east"}, {At: at(31), Server: "ns-west", Site: "east"}}
			h.Health = []Health{{At: at(130), OK: true}}
		}, []int{DNSBound}},
		{"DNS answers a fenced site too long", func(h *History) {
			h.Runs = []runbook.Record{run(runbook.Switchover, "east", "west", 10, 12, nil)}
			h.DNS = []DNSSample{{At: at(40), Server: "ns-witness", Site: "east"}}
		}, []int{DNSBound}},
		{"answering the old site again after a failback is fine", func(h *History) {
			h.Runs = []runbook.Record{run(runbook.Switchover, "east", "west", 10, 12, nil), run(runbook.Failback, "west", "east", 50, 52, nil)}
			h.DNS = []DNSSample{{At: at(55), Server: "ns-witness", Site: "east"}}
		}, nil},
		{"a run left running", func(h *History) {
			r := run(runbook.Failover, "east", "west", 10, 12, nil)
			r.Closed, r.Status = nil, runbook.StatusRunning
			h.Runs = []runbook.Record{r}
		}, []int{RunsClose}},
		{"a failed run is resumable, not a violation", func(h *History) {
			r := run(runbook.Failover, "east", "west", 10, 12, nil)
			r.Closed, r.Status = nil, runbook.StatusFailed
			h.Runs = []runbook.Record{r}
		}, nil},
		{"never healthy after the last repair", func(h *History) {
			h.Faults = []Fault{{At: at(10), Action: "link cut east west"}, {At: at(20), Action: "link heal east west", Repair: true}}
			h.Health = []Health{{At: at(30), Why: "west-0 catching up"}}
		}, []int{FullHealth}},
		{"healthy too late", func(h *History) {
			h.Faults = []Fault{{At: at(10), Action: "link cut east west"}, {At: at(20), Action: "link heal east west", Repair: true}}
			h.Health = []Health{{At: at(30), Why: "west-0 catching up"}, {At: at(300), OK: true}}
		}, []int{FullHealth}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := base()
			c.h(h)
			res := Check(h, Bounds{})
			var got []int
			for _, v := range res.Violations {
				got = append(got, v.Invariant)
				if v.Summary == "" || len(v.Evidence) == 0 || v.Name == "" {
					t.Errorf("violation without summary, name or evidence: %+v", v)
				}
			}
			if !equal(got, c.want) {
				var b strings.Builder
				for _, v := range res.Violations {
					b.WriteString("\n  " + v.Summary + ": " + strings.Join(v.Evidence, "; "))
				}
				t.Errorf("invariants violated = %v, want %v%s", got, c.want, b.String())
			}
			if res.OK() != (len(c.want) == 0) {
				t.Errorf("OK() = %v with %d violations", res.OK(), len(got))
			}
		})
	}
}

func TestMovesCountLoss(t *testing.T) {
	h := base()
	h.Writes = []Write{ack("c", 1, 1, 1.1, "east-0", "east"), ack("c", 2, 1.2, 1.3, "east-0", "east"), ack("c", 3, 30, 30.1, "west-0", "west")}
	h.Runs = []runbook.Record{
		run(runbook.Failover, "east", "west", 4, 6, &data.Loss{Counted: true, Transactions: 2, Bytes: 300, Method: "waldump"}),
		run(runbook.Failback, "west", "east", 40, 42, nil),
	}
	h.Lost = map[string][]int64{"c": {1, 2}}
	res := Check(h, Bounds{})
	if len(res.Moves) != 2 || res.Moves[0].Lost != 2 || res.Moves[1].Lost != 0 || res.Moves[0].LedgerTransactions != 2 {
		t.Fatalf("moves = %+v", res.Moves)
	}
	if res.Moves[0].PromisesRPO0 || !res.Moves[1].PromisesRPO0 {
		t.Errorf("promises = %v, %v; want a cross-region failover not to promise RPO 0 and a failback to", res.Moves[0].PromisesRPO0, res.Moves[1].PromisesRPO0)
	}
	if res.Acked != 3 || res.Lost != 2 || !res.OK() {
		t.Errorf("acked %d lost %d ok %v: %+v", res.Acked, res.Lost, res.OK(), res.Violations)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
