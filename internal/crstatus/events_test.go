package crstatus

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// run is a failover run with n steps of names, the first ended of them finished.
func run(id string, status runbook.Status, ended int) *runbook.Record {
	names := []string{runbook.StepFence, runbook.StepPromote, runbook.StepDNS, runbook.StepVerify}
	r := &runbook.Record{ID: id, App: "shop", Kind: runbook.Failover, From: "east", To: "west", Who: "auto", Decided: t0, Status: status}
	for i, n := range names {
		s := runbook.StepRecord{Name: n}
		if i < ended {
			at := t0.Add(time.Duration(i+1) * time.Second)
			s.Ended, s.Token = &at, 7
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}

func reasons(evs []Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return strings.Join(out, ",")
}

func TestEvents(t *testing.T) {
	failed := run("r1", runbook.StatusFailed, 1)
	failed.Error = "promote: password=hunter2 refused"
	done := run("r1", runbook.StatusDone, 4)
	closed := t0.Add(30 * time.Second)
	done.Closed, done.RTO = &closed, runbook.Duration(30*time.Second)
	aborted := run("r1", runbook.StatusAborted, 1)
	aborted.Aborted = &runbook.Decision{Who: "ana", Reason: "east is back"}
	for _, tc := range []struct {
		name      string
		prev, cur Seen
		closed    *runbook.Record
		want      string
	}{
		{"nothing", Seen{}, Seen{}, nil, ""},
		{"no change", Seen{Run: run("r1", runbook.StatusRunning, 2)}, Seen{Run: run("r1", runbook.StatusRunning, 2)}, nil, ""},
		{"failover decided", Seen{}, Seen{Run: run("r1", runbook.StatusRunning, 0)}, nil, "RunStarted,FailoverDecided"},
		{"decided and fenced at once", Seen{}, Seen{Run: run("r1", runbook.StatusRunning, 1)}, nil, "RunStarted,FailoverDecided,StepFinished,Fenced"},
		{"steps", Seen{Run: run("r1", runbook.StatusRunning, 1)}, Seen{Run: run("r1", runbook.StatusRunning, 3)}, nil, "StepFinished,StepFinished"},
		{"failed", Seen{Run: run("r1", runbook.StatusRunning, 1)}, Seen{Run: failed}, nil, "RunFailed"},
		{"closed between looks", Seen{Run: run("r1", runbook.StatusRunning, 2)}, Seen{}, done, "StepFinished,StepFinished,RunFinished"},
		{"aborted", Seen{Run: failed}, Seen{}, aborted, "RunAborted"},
		{"closed, ledger unread", Seen{Run: run("r1", runbook.StatusRunning, 2)}, Seen{}, nil, ""},
		{"opened and closed between looks", Seen{}, Seen{}, done, "RunStarted,FailoverDecided,StepFinished,Fenced,StepFinished,StepFinished,StepFinished,RunFinished"},
		{"next run", Seen{Run: run("r1", runbook.StatusRunning, 3)}, Seen{Run: run("r2", runbook.StatusRunning, 0)}, done,
			"StepFinished,RunFinished,RunStarted,FailoverDecided"},
		{"refused", Seen{}, Seen{NoAutoFailover: "a run is open"}, nil, "FailoverRefused"},
		{"refused again, same reason", Seen{NoAutoFailover: "a run is open"}, Seen{NoAutoFailover: "a run is open"}, nil, ""},
		{"held", Seen{}, Seen{Held: "cannot act on shop-db"}, nil, "FailoverHeld"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := Events(tc.prev, tc.cur, tc.closed)
			if got := reasons(evs); got != tc.want {
				t.Errorf("events %s, want %s", got, tc.want)
			}
			for _, e := range evs {
				if e.Action == "" || (e.Type != Normal && e.Type != Warning) {
					t.Errorf("%s: action %q type %q", e.Reason, e.Action, e.Type)
				}
				if strings.Contains(e.Note, "hunter2") {
					t.Errorf("%s carries a password: %q", e.Reason, e.Note)
				}
			}
		})
	}
	// The end says what it cost.
	evs := Events(Seen{Run: run("r1", runbook.StatusRunning, 4)}, Seen{}, done)
	if len(evs) != 1 || !strings.Contains(evs[0].Note, "RTO 30s") {
		t.Errorf("run finished: %+v, want the RTO", evs)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"dial postgres://hadron:s3cret@10.0.0.1:5432/app": "dial postgres://hadron:***@10.0.0.1:5432/app",
		"host=db password=s3cret user=x":                  "host=db password=*** user=x",
		`PASSWORD: "s 3cret"`:                             `PASSWORD: ***`,
		"Authorization: Bearer abc.def":                   "Authorization: Bearer ***",
		"token=abc":                                       "token=***",
		"promoted west-0 at 0/3000148":                    "promoted west-0 at 0/3000148",
		"https://east.example:6443/api":                   "https://east.example:6443/api",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
