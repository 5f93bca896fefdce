package chaosrun

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Text writes the report for a person: the fault timeline, each move with its RTO and
// RPO, the writes, and every violation with its evidence.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos seed %d, %s, faults %s\n", r.Seed, r.Duration, strings.Join(r.Faults, ","))
	if h := r.History; h != nil {
		b.WriteString("fault timeline:\n")
		for _, f := range h.Faults {
			fmt.Fprintf(&b, "  %8s  %s%s\n", f.At.Sub(h.Start).Round(100*time.Millisecond), f.Action, errNote(f.Err))
		}
	}
	res := r.Result
	if res == nil {
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("moves:\n")
	if len(res.Moves) == 0 {
		b.WriteString("  none\n")
	}
	for _, m := range res.Moves {
		ledger := "not counted"
		if m.LedgerTransactions >= 0 {
			ledger = fmt.Sprintf("%d transactions", m.LedgerTransactions)
		}
		fmt.Fprintf(&b, "  %-10s %s → %s  %s by %s  RTO %s  system RTO %s  RPO ledger %s (%d bytes), lost by seq %d\n",
			m.Kind, m.From, m.To, m.Status, m.Who, m.RTO.Round(time.Millisecond), m.SystemRTO.Round(time.Millisecond), ledger, m.LedgerBytes, m.Lost)
	}
	fmt.Fprintf(&b, "writes: %d, acknowledged %d, acknowledged and lost %d\n", res.Writes, res.Acked, res.Lost)
	if res.HealthyAfter > 0 {
		fmt.Fprintf(&b, "whole again %s after the last repair\n", res.HealthyAfter.Round(time.Second))
	}
	if res.OK() {
		b.WriteString("no violations\n")
	} else {
		fmt.Fprintf(&b, "%d violations:\n", len(res.Violations))
		for _, v := range res.Violations {
			fmt.Fprintf(&b, "  [%d %s] %s\n", v.Invariant, v.Name, v.Summary)
			for _, e := range v.Evidence {
				fmt.Fprintf(&b, "      %s\n", e)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ScheduleText writes a schedule for --dry-run.
func ScheduleText(w io.Writer, seed uint64, steps []Step) error {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos seed %d: %d steps\n", seed, len(steps))
	for _, s := range steps {
		fmt.Fprintf(&b, "  %8s  %s\n", s.At, s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
