package runbook

import (
	"fmt"
	"io"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
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
	if p := r.Promise; p != nil {
		fmt.Fprintf(w, "  promise: %s\n", promiseLine(p))
	}
	if rs := r.Restored; rs != nil {
		fmt.Fprintf(w, "  restored %s from the archive (no member was left), to %s on timeline %d", rs.Member, rs.End, rs.Timeline)
		if a := r.Archive; a != nil {
			fmt.Fprintf(w, "; predicted loss: archive lag %d bytes, %s waiting, + archive interval %s = %s", a.LagBytes, a.Waiting.Round(time.Millisecond), a.ArchiveTimeout, a.Bound())
		}
		fmt.Fprintln(w)
	}
	if l := r.RPO; l != nil {
		window := ""
		if l.Window > 0 {
			window = fmt.Sprintf(", committed over %s", l.Window)
		}
		switch {
		case l.Bytes < 0:
			fmt.Fprintf(w, "  RPO: unknown (%s)\n", l.Method)
		case l.Counted:
			fmt.Fprintf(w, "  RPO: %d bytes, %d transactions%s%s\n", l.Bytes, l.Transactions, window, against(r))
		default:
			fmt.Fprintf(w, "  RPO: %d bytes (transactions not counted)%s\n", l.Bytes, against(r))
		}
	}
}

// promiseLine is the data-loss mode a run recorded, as the old primary kept it.
func promiseLine(p *data.Promise) string {
	mode := string(p.Mode)
	if p.Bound > 0 {
		mode += " " + p.Bound.String()
	}
	switch {
	case p.Mode == v1alpha1.DataLossAsync || p.Mode == "":
		return mode + " (a lost region costs the replication lag, a cut-off one also what it acknowledged until fenced)"
	case !p.InForce:
		return mode + ", not in force when the old primary was last seen (" + p.Setting + ")"
	}
	return mode + ", in force when the old primary was last seen (" + p.Setting + ")"
}

// against says what the loss means under the promise: which of the lost commits could
// have been acknowledged.
func against(r *runbook.Record) string {
	p, l := r.Promise, r.RPO
	if p == nil || !p.InForce || l == nil || l.Bytes == 0 {
		return ""
	}
	switch p.Mode {
	case v1alpha1.DataLossSynchronous:
		if !p.Holds(r.Promoted) {
			return "; " + r.Promoted + " was not one of the members every commit waited for: acknowledged writes may be among them"
		}
		return "; none was acknowledged: each waited for " + r.Promoted
	case v1alpha1.DataLossBounded:
		return fmt.Sprintf("; acknowledged at most those of the %s before the DR member stopped confirming, the rest waited", p.Bound)
	}
	return ""
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
