package drill

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

// Phase is one runbook measured under load: the drill's failover, or the failback or
// switchover that a drill runs without a fault.
type Phase struct {
	Kind runbook.Kind `json:"kind"`
	From string       `json:"from"`
	To   string       `json:"to"`
	// Start is the fault's injection (a failover) or the run's request (planned runs).
	Start time.Time       `json:"start"`
	Run   *runbook.Record `json:"run"`
	// SystemRTO is Start → the main name answers the new site and verification passed.
	SystemRTO time.Duration `json:"systemRTONs"`
	// ClientRTO is Start → the client's first acknowledged write after the outage the
	// fault caused (0: the client saw no outage). The client re-resolves the main name
	// as its TTL allows. -1: the client had not recovered when the drill ended.
	ClientRTO time.Duration `json:"clientRTONs"`
	// Unavailable is the longest window in which the client's writes failed.
	Unavailable time.Duration `json:"unavailableNs"`
	Acked       int           `json:"acked"`
	Failed      int           `json:"failed"`
	// Lost are acknowledged writes the application does not have afterwards (the
	// client's view of the RPO, counted by sequence number).
	Lost []int64 `json:"lost"`
	// RPOTransactions is the loss the data driver measured from positions (-1 unknown).
	RPOTransactions int64 `json:"rpoTransactions"`
	RPOBytes        int64 `json:"rpoBytes"`
	// Archive is set when the failover restored from the archive.
	Archive *ArchiveRPO `json:"archive,omitempty"`
}

// Measure computes a phase from what the drill saw: when it started, the closed run,
// the load's attempts and the read-back of the client's writes.
func Measure(kind runbook.Kind, start time.Time, run *runbook.Record, res *load.Result, ver *load.Verification) Phase {
	p := Phase{Kind: kind, Start: start, Run: run, RPOTransactions: -1, RPOBytes: -1, Lost: []int64{}}
	if run != nil {
		p.From, p.To = run.From, run.To
		if run.Verified != nil {
			p.SystemRTO = run.Verified.Sub(start)
		}
		if l := run.RPO; l != nil {
			p.RPOBytes = l.Bytes
			if l.Counted {
				p.RPOTransactions = l.Transactions
			}
		}
	}
	if res != nil {
		for _, a := range res.Attempts {
			if a.OK {
				p.Acked++
			} else {
				p.Failed++
			}
		}
		p.ClientRTO, p.Unavailable = clientView(start, res.Attempts)
	}
	if ver != nil && ver.Lost != nil {
		p.Lost = ver.Lost
	}
	if res != nil && ver != nil {
		p.Archive = archiveRPO(run, res.Attempts, p.Lost)
	}
	return p
}

// clientView finds the outages that began at or after start: the client RTO ends
// with the last of them (-1 when it never closed), the unavailability is the longest.
func clientView(start time.Time, attempts []load.Attempt) (rto, longest time.Duration) {
	for _, o := range load.Outages(attempts) {
		if o.Start.Before(start) && (o.Open || o.End.Before(start)) {
			continue
		}
		if o.Open {
			return -1, longest
		}
		rto = o.End.Sub(start)
		from := o.Start
		if from.Before(start) {
			from = start
		}
		longest = max(longest, o.End.Sub(from))
	}
	return rto, longest
}

// Report is a whole drill: the fault's failover and, when asked, the failback home.
// A phase that never started (its fault failed, no write got through before it) is
// absent, not zero: the report claims only what was measured.
type Report struct {
	App     string `json:"app"`
	Fault   string `json:"fault,omitempty"`
	Trigger string `json:"trigger"`
	// Rate is the client's writes per second and Workers how many it has in flight at
	// most: what a data-loss bound in time comes to in writes (rate × bound + workers).
	Rate     float64 `json:"rate"`
	Workers  int     `json:"workers"`
	Drill    *Phase  `json:"drill,omitempty"`
	Failback *Phase  `json:"failback,omitempty"`
	// Error is why the drill stopped, when it did.
	Error string `json:"error,omitempty"`
}

// Print writes a report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "drill of %s (%s", r.App, r.Trigger)
	if r.Fault != "" {
		fmt.Fprintf(w, "; fault: %s", r.Fault)
	}
	fmt.Fprintln(w, ")")
	if r.Drill == nil {
		fmt.Fprintln(w, "  nothing measured: the drill did not happen")
	} else {
		printPhase(w, r.Drill)
	}
	if r.Failback != nil {
		printPhase(w, r.Failback)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  stopped: %s\n", r.Error)
	}
}

func printPhase(w io.Writer, p *Phase) {
	fmt.Fprintf(w, "  %s %s → %s\n", p.Kind, p.From, p.To)
	if p.Run != nil {
		for _, s := range p.Run.Steps {
			took := "-"
			if s.Started != nil && s.Ended != nil {
				took = s.Ended.Sub(*s.Started).Round(time.Millisecond).String()
			}
			fmt.Fprintf(w, "    %-16s %9s  %s\n", s.Name, took, s.Detail)
		}
		if p.Run.Verified != nil {
			fmt.Fprintf(w, "    decision → verified %s", p.Run.RTO)
			switch f := p.Run.FirstFailedProbe; {
			case f == nil:
			case f.Before(p.Start):
				// The daemons dated the fault before the drill injected it: an
				// earlier failure, not this outage's; no figure rather than a wrong one.
				fmt.Fprintf(w, "; first failed probe %s before the fault, not counted", round(p.Start.Sub(*f)))
			default:
				fmt.Fprintf(w, "; first failed probe → verified %s", p.Run.SystemRTO)
			}
			fmt.Fprintln(w)
		}
	}
	if p.Run != nil && p.Run.Verified != nil {
		fmt.Fprintf(w, "  system RTO (start → verified through the main name): %s\n", round(p.SystemRTO))
	} else {
		fmt.Fprintln(w, "  system RTO: not measured (the run was not verified)")
	}
	switch {
	case p.ClientRTO < 0:
		fmt.Fprintln(w, "  client RTO: the client had not recovered when the drill ended")
	default:
		fmt.Fprintf(w, "  client RTO (start → first accepted write): %s; longest write outage %s\n", round(p.ClientRTO), round(p.Unavailable))
	}
	rpo := "unknown"
	if p.RPOTransactions >= 0 {
		rpo = fmt.Sprintf("%d transactions (%d bytes)", p.RPOTransactions, p.RPOBytes)
	} else if p.RPOBytes >= 0 {
		rpo = fmt.Sprintf("at least %d bytes (transactions not counted)", p.RPOBytes)
	}
	fmt.Fprintf(w, "  RPO: data driver %s; client %d of %d acknowledged writes lost\n", rpo, len(p.Lost), p.Acked)
	if p.Archive != nil {
		printArchiveRPO(w, p.Archive)
	}
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// Stats are percentiles over several drills.
type Stats struct {
	Drills int `json:"drills"`
	// Each figure as p50 and max.
	SystemRTO [2]time.Duration `json:"systemRTONs"`
	ClientRTO [2]time.Duration `json:"clientRTONs"`
	// Unavailable is the longest write outage the client saw in each drill: for a
	// planned switchover, the write-unavailability.
	Unavailable     [2]time.Duration `json:"unavailableNs"`
	LostWrites      [2]int           `json:"lostWrites"`
	RPOTransactions [2]int64         `json:"rpoTransactions"`
	// FailbackUnavailable and FailbackLost are the planned moves home.
	FailbackUnavailable [2]time.Duration `json:"failbackUnavailableNs"`
	FailbackLost        int              `json:"failbackLost"`
}

// Summarize computes p50 and max of every figure over the reports that measured a drill.
func Summarize(reports []Report) Stats {
	var s Stats
	var sys, cli, out, fbu []time.Duration
	var lost []int
	var txns []int64
	for _, r := range reports {
		if r.Drill == nil {
			continue
		}
		s.Drills++
		sys = append(sys, r.Drill.SystemRTO)
		cli = append(cli, r.Drill.ClientRTO)
		out = append(out, r.Drill.Unavailable)
		lost = append(lost, len(r.Drill.Lost))
		txns = append(txns, r.Drill.RPOTransactions)
		if r.Failback != nil {
			fbu = append(fbu, r.Failback.Unavailable)
			s.FailbackLost += len(r.Failback.Lost)
		}
	}
	s.SystemRTO, s.ClientRTO, s.Unavailable, s.FailbackUnavailable = P50Max(sys), P50Max(cli), P50Max(out), P50Max(fbu)
	s.LostWrites, s.RPOTransactions = P50Max(lost), P50Max(txns)
	return s
}

// P50Max is the nearest-rank median and the maximum (zero for no values).
func P50Max[T int | int64 | time.Duration](v []T) [2]T {
	if len(v) == 0 {
		return [2]T{}
	}
	s := append([]T(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return [2]T{s[(len(s)-1)/2], s[len(s)-1]}
}

// Print writes the statistics as a table.
func (s Stats) Print(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "over %d drills:            p50        max\n", s.Drills)
	fmt.Fprintf(&b, "  system RTO          %9s  %9s\n", round(s.SystemRTO[0]), round(s.SystemRTO[1]))
	fmt.Fprintf(&b, "  client RTO          %9s  %9s\n", round(s.ClientRTO[0]), round(s.ClientRTO[1]))
	fmt.Fprintf(&b, "  longest outage      %9s  %9s\n", round(s.Unavailable[0]), round(s.Unavailable[1]))
	fmt.Fprintf(&b, "  RPO (writes lost)   %9d  %9d\n", s.LostWrites[0], s.LostWrites[1])
	fmt.Fprintf(&b, "  RPO (transactions)  %9d  %9d\n", s.RPOTransactions[0], s.RPOTransactions[1])
	fmt.Fprintf(&b, "  failback outage     %9s  %9s   (%d writes lost)\n", round(s.FailbackUnavailable[0]), round(s.FailbackUnavailable[1]), s.FailbackLost)
	io.WriteString(w, b.String())
}
