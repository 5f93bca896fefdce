// Package timeline lays a run out on a time axis — its steps as bars, the moments that
// matter (the fault, its detection, the DNS move, the first accepted write) as marks —
// and draws it as SVG. The dashboard's live Gantt, the ledger's run pages and the drill
// reports all draw the same picture from it, so a run looks the same wherever it is
// read. Everything here is pure: a record (and the time now) in, a layout out.
package timeline

import (
	"time"

	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
)

// Bar is one step: from its start to its end, as offsets from the timeline's origin.
type Bar struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"startNs"`
	End   time.Duration `json:"endNs"`
	// State is done, running (End is now), failed, or waiting (not started: Start and
	// End are zero).
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Bar states.
const (
	Done    = "done"
	Running = "running"
	Failed  = "failed"
	Waiting = "waiting"
)

// Mark is one moment.
type Mark struct {
	Label string        `json:"label"`
	At    time.Duration `json:"atNs"`
	// Kind says what happened: fault, detection, decision, dns, verified, write.
	Kind string `json:"kind"`
}

// Timeline is a run laid out from its origin (the fault, else the first failed probe,
// else the decision).
type Timeline struct {
	Title  string    `json:"title"`
	Origin time.Time `json:"origin"`
	// Span is the length of the axis: the last thing drawn.
	Span  time.Duration `json:"spanNs"`
	Bars  []Bar         `json:"bars"`
	Marks []Mark        `json:"marks"`
}

// FromRun lays out a run record as it stands at now: a step under way runs until now.
func FromRun(r *runbook.Record, now time.Time) Timeline {
	origin := r.Decided
	if f := r.FirstFailedProbe; f != nil && f.Before(origin) {
		origin = *f
	}
	t := Timeline{Title: r.App + " " + string(r.Kind) + " " + r.From + " → " + r.To, Origin: origin}
	if f := r.FirstFailedProbe; f != nil {
		t.mark("first failed probe", *f, "detection")
	}
	t.mark("decided by "+r.Who, r.Decided, "decision")
	t.steps(r, r.To, now)
	if r.Verified != nil {
		t.mark("verified", *r.Verified, "verified")
	}
	return t
}

// FromPhase lays out a drill's phase: the fault (or the request) at the origin, the
// run's steps, and what the client saw — its first accepted write after the outage.
func FromPhase(p *drill.Phase) Timeline {
	t := Timeline{Title: string(p.Kind) + " " + p.From + " → " + p.To, Origin: p.Start}
	start := "fault injected"
	if p.Kind != runbook.Failover {
		start = "requested"
	}
	t.mark(start, p.Start, "fault")
	if r := p.Run; r != nil {
		if f := r.FirstFailedProbe; f != nil && !f.Before(p.Start) {
			t.mark("first failed probe", *f, "detection")
		}
		if !r.Decided.Before(p.Start) {
			t.mark("decided by "+r.Who, r.Decided, "decision")
		}
		end := p.Start
		if r.Closed != nil {
			end = *r.Closed
		} else if r.Verified != nil {
			end = *r.Verified
		}
		t.steps(r, p.To, end)
		if r.Verified != nil {
			t.mark("verified", *r.Verified, "verified")
		}
	}
	if p.ClientRTO > 0 {
		t.mark("first accepted write", p.Start.Add(p.ClientRTO), "write")
	}
	return t
}

// steps adds a bar per step and a mark where the DNS step ended (the main name moved).
func (t *Timeline) steps(r *runbook.Record, to string, now time.Time) {
	for _, s := range r.Steps {
		b := Bar{Name: s.Name, Detail: s.Detail, Error: s.Error, State: Waiting}
		switch {
		case s.Started == nil:
		case s.Ended != nil:
			b.State, b.Start, b.End = Done, s.Started.Sub(t.Origin), s.Ended.Sub(t.Origin)
			if s.Name == runbook.StepDNS {
				t.mark("DNS answers "+to, *s.Ended, "dns")
			}
		case s.Error != "":
			// A failed step stopped at a moment the record does not keep: drawn at its
			// start, not growing while the run waits for a person.
			b.State, b.Start = Failed, s.Started.Sub(t.Origin)
			b.End = b.Start
		default:
			b.State, b.Start, b.End = Running, s.Started.Sub(t.Origin), now.Sub(t.Origin)
			if b.End < b.Start {
				b.End = b.Start
			}
		}
		t.Bars = append(t.Bars, b)
		t.Span = max(t.Span, b.End)
	}
}

func (t *Timeline) mark(label string, at time.Time, kind string) {
	m := Mark{Label: label, At: at.Sub(t.Origin), Kind: kind}
	t.Marks = append(t.Marks, m)
	t.Span = max(t.Span, m.At)
}
