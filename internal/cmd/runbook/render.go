package runbook

import (
	"fmt"
	"io"
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// StepLine is one step: number, name, time taken, detail — or, for a step that did
// not finish (an aborted run's), whether it failed or did not run.
func StepLine(i int, s runbook.StepRecord) string {
	took, detail := "-", s.Detail
	switch {
	case s.Started != nil && s.Ended != nil:
		took = s.Ended.Sub(*s.Started).Round(time.Millisecond).String()
	case s.Error != "":
		detail = fmt.Sprintf("failed (attempt %d): %s", s.Attempt, s.Error)
	case s.Started != nil:
		detail = "not finished"
	case s.Ended == nil:
		detail = "not run"
	}
	line := fmt.Sprintf("  %d. %-16s %9s  %s", i+1, s.Name, took, detail)
	if s.Resumed {
		line += " (resumed)"
	}
	return line
}

// Summary prints a run's outcome: status, RTO and RPO.
func Summary(w io.Writer, r *runbook.Record) {
	fmt.Fprintf(w, "%s of %s %s → %s: %s", r.Kind, r.App, r.From, r.To, r.Status)
	if r.Error != "" {
		fmt.Fprintf(w, " (%s)", r.Error)
	}
	fmt.Fprintln(w)
	for _, d := range r.Resumes {
		fmt.Fprintf(w, "  resumed by %s at %s", d.Who, stamp(d.At))
		if d.Force {
			fmt.Fprint(w, ", forced")
		}
		fmt.Fprintf(w, " (after %s)\n", d.Failure)
	}
	if d := r.Aborted; d != nil {
		fmt.Fprintf(w, "  aborted by %s at %s", d.Who, stamp(d.At))
		if d.Reason != "" {
			fmt.Fprintf(w, ": %s", d.Reason)
		}
		fmt.Fprintln(w, "; no step was undone")
	}
	if r.Verified != nil {
		fmt.Fprintf(w, "  RTO (decision → verified): %s", r.RTO)
		if r.FirstFailedProbe != nil {
			fmt.Fprintf(w, "; from the first failed probe: %s", r.SystemRTO)
		}
		fmt.Fprintln(w)
	}
	if l := r.RPO; l != nil {
		switch {
		case l.Bytes < 0:
			fmt.Fprintf(w, "  RPO: unknown (%s)\n", l.Method)
		case l.Counted:
			fmt.Fprintf(w, "  RPO: %d bytes, %d transactions\n", l.Bytes, l.Transactions)
		default:
			fmt.Fprintf(w, "  RPO: %d bytes (transactions not counted)\n", l.Bytes)
		}
	}
}

// Print is a run as the ledger keeps it: who decided, every step, the outcome.
func Print(w io.Writer, r *runbook.Record) {
	fmt.Fprintf(w, "%s  decided %s by %s, tokens %v\n", r.ID, stamp(r.Decided), r.Who, r.Tokens)
	if r.Set != "" {
		fmt.Fprintf(w, "  by hand on mirror set %s, outside the daemons (hadron data)\n", r.Set)
	}
	for j, s := range r.Steps {
		fmt.Fprintln(w, StepLine(j, s))
	}
	Summary(w, r)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }
