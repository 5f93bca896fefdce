package runbook

import (
	"fmt"
	"io"
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// StepLine is one finished step: number, name, time taken, detail.
func StepLine(i int, s runbook.StepRecord) string {
	took := "-"
	if s.Started != nil && s.Ended != nil {
		took = s.Ended.Sub(*s.Started).Round(time.Millisecond).String()
	}
	line := fmt.Sprintf("  %d. %-16s %9s  %s", i+1, s.Name, took, s.Detail)
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
