package crstatus

import (
	"fmt"
	"regexp"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/runbook"
)

// Event types, as Kubernetes names them.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// Event reasons written on an Application.
const (
	EventRunStarted      = "RunStarted"
	EventFailoverDecided = "FailoverDecided"
	EventStepFinished    = "StepFinished"
	EventFenced          = "Fenced"
	EventRunFailed       = "RunFailed"
	EventRunFinished     = "RunFinished"
	EventRunAborted      = "RunAborted"
	EventFailoverRefused = "FailoverRefused"
	EventFailoverHeld    = "FailoverHeld"
)

// Event is one Kubernetes Event to write on an application.
type Event struct {
	Type   string // Normal or Warning
	Reason string
	// Action is what the reporting daemon did or decided (events/v1 requires it).
	Action string
	Note   string
}

// Seen is what the writer last saw of an application: the run open then (nil for
// none) and the automatic failover's reasons for not acting.
type Seen struct {
	Run            *runbook.Record
	NoAutoFailover string
	Held           string
}

// Events are what changed between prev and cur, oldest first. cur.Run is the run
// open now; closed is the ledger's newest record when it is new since the last look
// (nil otherwise), so that the steps a run finished between two looks and its end
// are reported too — and the whole of a run that opened and closed between two looks
// (a failover takes about a second, the looks are seconds apart).
func Events(prev, cur Seen, closed *runbook.Record) []Event {
	var out []Event
	if closed != nil && (cur.Run == nil || cur.Run.ID != closed.ID) {
		var before *runbook.Record
		if p := prev.Run; p != nil && p.ID == closed.ID {
			before = p
		}
		out = append(out, runEvents(before, closed)...)
	}
	if c := cur.Run; c != nil {
		var before *runbook.Record
		if prev.Run != nil && prev.Run.ID == c.ID {
			before = prev.Run
		}
		out = append(out, runEvents(before, c)...)
	}
	if cur.NoAutoFailover != "" && cur.NoAutoFailover != prev.NoAutoFailover {
		out = append(out, Event{Warning, EventFailoverRefused, "Decide", "no automatic failover: " + cur.NoAutoFailover})
	}
	if cur.Held != "" && cur.Held != prev.Held {
		out = append(out, Event{Warning, EventFailoverHeld, "Decide", "automatic failover held: " + cur.Held})
	}
	for i := range out {
		out[i].Note = Redact(out[i].Note)
	}
	return out
}

// runEvents are the changes of one run from before (nil: not seen yet) to now.
func runEvents(before, now *runbook.Record) []Event {
	var out []Event
	if before == nil {
		out = append(out, Event{Normal, EventRunStarted, action(now),
			fmt.Sprintf("%s %s → %s decided by %s (run %s, %d steps)", now.Kind, now.From, now.To, now.Who, now.ID, len(now.Steps))})
		if now.Kind == runbook.Failover {
			out = append(out, Event{Warning, EventFailoverDecided, "Decide",
				fmt.Sprintf("failover of %s to %s decided by %s (run %s)", now.From, now.To, now.Who, now.ID)})
		}
	}
	for i, s := range now.Steps {
		if s.Ended == nil || (before != nil && i < len(before.Steps) && before.Steps[i].Ended != nil) {
			continue
		}
		note := fmt.Sprintf("step %d/%d %s finished (token %d)", i+1, len(now.Steps), s.Name, s.Token)
		if s.Detail != "" {
			note += ": " + s.Detail
		}
		out = append(out, Event{Normal, EventStepFinished, action(now), note})
		if s.Name == runbook.StepFence || s.Name == runbook.StepFenceWrites {
			out = append(out, Event{Warning, EventFenced, "Fence", fmt.Sprintf("%s fenced for run %s: %s", now.From, now.ID, s.Detail)})
		}
	}
	was := runbook.Status("")
	if before != nil {
		was = before.Status
	}
	if now.Status == was {
		return out
	}
	switch now.Status {
	case runbook.StatusFailed:
		out = append(out, Event{Warning, EventRunFailed, action(now), fmt.Sprintf("run %s stopped: %s", now.ID, now.Error)})
	case runbook.StatusDone:
		note := fmt.Sprintf("%s %s → %s done (run %s)", now.Kind, now.From, now.To, now.ID)
		if m := move(now); m != nil && m.RTO != nil {
			note += ", RTO " + m.RTO.Duration.String()
		}
		if m := move(now); m != nil && m.RPO != nil {
			note += ", RPO " + m.RPO.Duration.String()
		}
		out = append(out, Event{Normal, EventRunFinished, action(now), note})
	case runbook.StatusAborted:
		note := fmt.Sprintf("run %s aborted", now.ID)
		if a := now.Aborted; a != nil {
			note += " by " + a.Who
			if a.Reason != "" {
				note += ": " + a.Reason
			}
		}
		out = append(out, Event{Warning, EventRunAborted, action(now), note})
	}
	return out
}

// action is the run's kind as an events/v1 action ("Failover").
func action(r *runbook.Record) string {
	k := string(r.Kind)
	if k == "" {
		return "Run"
	}
	return string(k[0]-'a'+'A') + k[1:]
}

// SeenOf is what an application's daemon status and open run show.
func SeenOf(a api.App, open *runbook.Record) Seen {
	return Seen{Run: open, NoAutoFailover: a.NoAutoFailover, Held: a.AutoFailoverHeld}
}

// secrets are what a driver's or a person's text may carry that must not reach an
// Event or a condition (readable by anyone who can list events): a password in a
// URL, a libpq keyword, a bearer token.
var secrets = []*regexp.Regexp{
	regexp.MustCompile(`(://[^:/@\s]+:)[^@\s]+@`),
	regexp.MustCompile(`(?i)((?:password|passwd|pwd|token|secret)\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`),
	regexp.MustCompile(`(?i)(bearer\s+)\S+`),
}

// Redact replaces secrets in s with "***".
func Redact(s string) string {
	for i, re := range secrets {
		repl := "${1}***"
		if i == 0 {
			repl = "${1}***@"
		}
		s = re.ReplaceAllString(s, repl)
	}
	return s
}
