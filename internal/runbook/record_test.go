package runbook

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func at(sec int) *time.Time {
	t := time.Date(2026, 11, 23, 12, 0, sec, 0, time.UTC)
	return &t
}

func TestNext(t *testing.T) {
	tests := []struct {
		name  string
		steps []StepRecord
		want  int
		more  bool
	}{
		{"fresh run starts at the first step", []StepRecord{{Name: "a"}, {Name: "b"}}, 0, true},
		{"started but not ended is unfinished", []StepRecord{{Name: "a", Started: at(1)}, {Name: "b"}}, 0, true},
		{"resumes after the last ended step", []StepRecord{{Name: "a", Started: at(1), Ended: at(2)}, {Name: "b", Started: at(3)}, {Name: "c"}}, 1, true},
		{"a failed step is retried", []StepRecord{{Name: "a", Started: at(1), Ended: at(2)}, {Name: "b", Started: at(3), Error: "boom"}}, 1, true},
		{"all ended", []StepRecord{{Name: "a", Ended: at(2)}, {Name: "b", Ended: at(3)}}, 2, false},
		{"no steps", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := Next(&Record{Steps: tt.steps})
			if got != tt.want || more != tt.more {
				t.Fatalf("Next = %d, %v; want %d, %v", got, more, tt.want, tt.more)
			}
		})
	}
}

func TestProgressRecordsTokensAttemptsAndRTO(t *testing.T) {
	r := NewRecord("id", "shop", Failover, "east", "west", "auto", *at(0), []string{StepFence, StepPromote})
	probe := at(-3)
	r.FirstFailedProbe = probe
	Begin(r, 0, 10, *at(1))
	Fail(r, 0, errors.New("unreachable"))
	if r.Status != StatusFailed || r.Steps[0].Error == "" {
		t.Fatalf("after Fail: %+v", r)
	}
	Begin(r, 0, 12, *at(2)) // a new leader retries
	End(r, 0, 12, *at(3), "dns → west", false)
	Begin(r, 1, 12, *at(3))
	End(r, 1, 12, *at(4), "", true)
	MarkVerified(r, *at(5))

	if got := r.Tokens; len(got) != 2 || got[0] != 10 || got[1] != 12 {
		t.Fatalf("tokens = %v, want [10 12]", got)
	}
	s := r.Steps[0]
	if s.Attempt != 2 || !s.Started.Equal(*at(1)) || s.Error != "" || s.Token != 12 || r.Status != StatusRunning {
		t.Fatalf("step 0 = %+v, status %s", s, r.Status)
	}
	if !r.Steps[1].Resumed {
		t.Fatal("step 1 not marked resumed")
	}
	if r.RTO != Duration(5*time.Second) || r.SystemRTO != Duration(8*time.Second) {
		t.Fatalf("RTO %s, system RTO %s", r.RTO, r.SystemRTO)
	}
	if _, more := Next(r); more {
		t.Fatal("run not finished")
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.RTO != r.RTO || len(back.Steps) != 2 || back.Steps[1].Ended == nil {
		t.Fatalf("round trip: %s", b)
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		kind  Kind
		first string
		last  string
		n     int
		err   bool
	}{
		{Failover, StepFence, StepStandbyOld, 6, false},
		{Switchover, StepReady, StepStandbyOld, 9, false},
		{Failback, StepRejoin, StepStandbyOld, 10, false},
		{"failsideways", "", "", 0, true},
	}
	for _, tt := range tests {
		steps, err := Plan(tt.kind)
		if (err != nil) != tt.err {
			t.Fatalf("%s: err %v", tt.kind, err)
		}
		if tt.err {
			if !errors.Is(err, ErrUnknownKind) {
				t.Fatalf("%s: %v is not ErrUnknownKind", tt.kind, err)
			}
			continue
		}
		if len(steps) != tt.n || steps[0] != tt.first || steps[len(steps)-1] != tt.last {
			t.Fatalf("%s: %v", tt.kind, steps)
		}
		defs, _ := Plans(tt.kind)
		for _, d := range defs {
			if d.Text == "" || d.Do == nil {
				t.Fatalf("step %s has no description or no action", d.Name)
			}
		}
	}
}
