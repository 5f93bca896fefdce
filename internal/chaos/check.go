package chaos

import (
	"fmt"
	"sort"
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// The invariants, numbered as in docs/design/chaos.md.
const (
	SplitBrain  = 1 // never two sites acknowledging writes at the same time
	NoLoss      = 2 // no acknowledged write lost where the policy promises RPO 0
	LossShown   = 3 // a move that lost writes reports at least that loss, and why
	DNSBound    = 4 // the main name stops answering a dead or fenced site in time
	RunsClose   = 5 // every run closes or is resumable
	FullHealth  = 6 // the fleet is whole again within a bound after the last repair
	invariantsN = 6
)

// InvariantNames are short names for reports.
var InvariantNames = map[int]string{
	SplitBrain: "split brain",
	NoLoss:     "loss where RPO 0 is promised",
	LossShown:  "loss not reported",
	DNSBound:   "DNS answers a dead or fenced site",
	RunsClose:  "run left open",
	FullHealth: "no return to full health",
}

// Violation is one broken invariant with what shows it.
type Violation struct {
	Invariant int       `json:"invariant"`
	Name      string    `json:"name"`
	At        time.Time `json:"at"`
	Summary   string    `json:"summary"`
	Evidence  []string  `json:"evidence"`
}

// Move is one run of the ledger with what it cost.
type Move struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Who    string `json:"who"`
	Status string `json:"status"`
	// RTO is decision → verified; SystemRTO first failed probe → verified.
	RTO       time.Duration `json:"rtoNs,omitempty"`
	SystemRTO time.Duration `json:"systemRTONs,omitempty"`
	// LedgerTransactions and LedgerBytes are the loss the ledger reports (-1:
	// not counted); Lost the acknowledged writes counted lost by seq that this move
	// explains.
	LedgerTransactions int64 `json:"ledgerTransactions"`
	LedgerBytes        int64 `json:"ledgerBytes"`
	Lost               int   `json:"lost"`
	// PromisesRPO0 says whether the policy promised no loss for this move.
	PromisesRPO0 bool `json:"promisesRPO0"`
}

// Result is what Check found.
type Result struct {
	Bounds     Bounds      `json:"bounds"`
	Writes     int         `json:"writes"`
	Acked      int         `json:"acked"`
	Lost       int         `json:"lost"`
	Moves      []Move      `json:"moves"`
	Violations []Violation `json:"violations"`
	// HealthyAfter is last repair → first healthy look (0 when never healthy or no repair).
	HealthyAfter time.Duration `json:"healthyAfterNs,omitempty"`
}

// OK reports whether no invariant was broken.
func (r *Result) OK() bool { return len(r.Violations) == 0 }

// Check judges a history.
func Check(h *History, b Bounds) *Result {
	b = b.WithDefaults()
	res := &Result{Bounds: b}
	for _, w := range h.Writes {
		res.Writes++
		if w.OK {
			res.Acked++
		}
	}
	runs := append([]runbook.Record(nil), h.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Decided.Before(runs[j].Decided) })
	var v []Violation
	v = append(v, splitBrain(h, runs, b)...)
	moves, lossV := losses(h, runs, b)
	res.Moves = moves
	v = append(v, lossV...)
	for _, l := range h.Lost {
		res.Lost += len(l)
	}
	v = append(v, dnsBound(h, runs, b)...)
	v = append(v, runsClose(runs)...)
	hv, after := fullHealth(h, b)
	res.HealthyAfter = after
	v = append(v, hv...)
	for i := range v {
		v[i].Name = InvariantNames[v[i].Invariant]
	}
	sort.SliceStable(v, func(i, j int) bool {
		if v[i].Invariant != v[j].Invariant {
			return v[i].Invariant < v[j].Invariant
		}
		return v[i].At.Before(v[j].At)
	})
	res.Violations = v
	return res
}

// window is the time a run may change who writes: from its decision to its close
// (or the end of the history while open), widened by slack.
func window(r *runbook.Record, end time.Time, slack time.Duration) (time.Time, time.Time) {
	to := end
	if r.Closed != nil {
		to = *r.Closed
	}
	return r.Decided.Add(-slack), to.Add(slack)
}

// splitBrain finds the changes of the writing site — an acknowledgement by site Y
// sent after an acknowledgement by site X had returned, with nothing acknowledged in
// between — and requires each to be explained by a run to Y whose window meets the
// time between the two. A run explains one change: two sites taking turns is two primaries, not
// one move. Writes whose intervals overlap prove no order and are not changes.
func splitBrain(h *History, runs []runbook.Record, b Bounds) []Violation {
	var acks []Write
	for _, w := range h.Writes {
		if w.OK && w.MemberSite != "" {
			acks = append(acks, w)
		}
	}
	sort.SliceStable(acks, func(i, j int) bool { return acks[i].Done.Before(acks[j].Done) })
	used := make([]bool, len(runs))
	var out []Violation
	for i := 1; i < len(acks); i++ {
		p, a := acks[i-1], acks[i]
		if p.MemberSite == a.MemberSite || !a.Sent.After(p.Done) {
			continue
		}
		explained := false
		for k := range runs {
			r := &runs[k]
			from, to := window(r, h.End, b.MoveSlack)
			if used[k] || r.To != a.MemberSite || p.Done.After(to) || a.Sent.Before(from) {
				continue
			}
			used[k], explained = true, true
			break
		}
		if explained {
			continue
		}
		out = append(out, Violation{
			Invariant: SplitBrain, At: a.Sent,
			Summary: fmt.Sprintf("site %s acknowledged a write sent after site %s had acknowledged one, and no run moved the application to %s then", a.MemberSite, p.MemberSite, a.MemberSite),
			Evidence: []string{
				fmt.Sprintf("%s seq %d → %s (%s), sent %s, acknowledged %s", p.Client, p.Seq, p.Member, p.MemberSite, ts(p.Sent), ts(p.Done)),
				fmt.Sprintf("%s seq %d → %s (%s), sent %s, acknowledged %s", a.Client, a.Seq, a.Member, a.MemberSite, ts(a.Sent), ts(a.Done)),
			},
		})
	}
	return out
}

// promisesRPO0 says whether the policy promises no loss for r: a planned move
// (switchover, failback), a move within one region, or a synchronous set.
func promisesRPO0(h *History, r *runbook.Record) bool {
	switch r.Kind {
	case runbook.Switchover, runbook.Failback:
		return true
	}
	if h.Synchronous {
		return true
	}
	rf, rt := h.Regions[r.From], h.Regions[r.To]
	return rf != "" && rf == rt
}

// losses gives each lost write to the first run that promoted after it was
// acknowledged, and judges each run's loss against its promise (invariant 2) and
// its ledger record (invariant 3).
func losses(h *History, runs []runbook.Record, b Bounds) ([]Move, []Violation) {
	acked := map[string]map[int64]Write{}
	for _, w := range h.Writes {
		if w.OK {
			if acked[w.Client] == nil {
				acked[w.Client] = map[int64]Write{}
			}
			acked[w.Client][w.Seq] = w
		}
	}
	lostBy := make([][]Write, len(runs))
	var orphans []Write
	clients := make([]string, 0, len(h.Lost))
	for c := range h.Lost {
		clients = append(clients, c)
	}
	sort.Strings(clients)
	for _, c := range clients {
		for _, seq := range h.Lost[c] {
			w, ok := acked[c][seq]
			if !ok {
				w = Write{Client: c, Seq: seq}
			}
			k := -1
			for i := range runs {
				_, to := window(&runs[i], h.End, 0)
				if to.After(w.Done) {
					k = i
					break
				}
			}
			if k < 0 {
				orphans = append(orphans, w)
				continue
			}
			lostBy[k] = append(lostBy[k], w)
		}
	}
	var moves []Move
	var out []Violation
	for i := range runs {
		r := &runs[i]
		m := Move{ID: r.ID, Kind: string(r.Kind), From: r.From, To: r.To, Who: r.Who, Status: string(r.Status),
			RTO: time.Duration(r.RTO), SystemRTO: time.Duration(r.SystemRTO), LedgerTransactions: -1,
			Lost: len(lostBy[i]), PromisesRPO0: promisesRPO0(h, r)}
		if r.RPO != nil {
			m.LedgerBytes = r.RPO.Bytes
			if r.RPO.Counted {
				m.LedgerTransactions = r.RPO.Transactions
			}
		}
		moves = append(moves, m)
		if len(lostBy[i]) == 0 {
			continue
		}
		ev := lostEvidence(lostBy[i])
		if m.PromisesRPO0 {
			out = append(out, Violation{Invariant: NoLoss, At: r.Decided,
				Summary:  fmt.Sprintf("%s %s %s → %s lost %d acknowledged writes; the policy promises RPO 0 for it", r.Kind, r.ID, r.From, r.To, len(lostBy[i])),
				Evidence: ev})
			continue
		}
		switch {
		case r.RPO == nil:
			out = append(out, Violation{Invariant: LossShown, At: r.Decided,
				Summary:  fmt.Sprintf("%s %s %s → %s lost %d acknowledged writes and its ledger record has no RPO", r.Kind, r.ID, r.From, r.To, len(lostBy[i])),
				Evidence: ev})
		case r.RPO.Counted && r.RPO.Transactions < int64(len(lostBy[i])):
			out = append(out, Violation{Invariant: LossShown, At: r.Decided,
				Summary:  fmt.Sprintf("%s %s %s → %s: the ledger reports %d transactions lost, the clients counted %d acknowledged writes lost", r.Kind, r.ID, r.From, r.To, r.RPO.Transactions, len(lostBy[i])),
				Evidence: append(ev, "ledger: "+r.RPO.Method)})
		case !r.RPO.Counted && r.RPO.Bytes <= 0:
			out = append(out, Violation{Invariant: LossShown, At: r.Decided,
				Summary:  fmt.Sprintf("%s %s %s → %s: the ledger reports no loss (%d bytes, not counted), the clients counted %d acknowledged writes lost", r.Kind, r.ID, r.From, r.To, r.RPO.Bytes, len(lostBy[i])),
				Evidence: append(ev, "ledger: "+r.RPO.Method)})
		case r.RPO.Method == "":
			out = append(out, Violation{Invariant: LossShown, At: r.Decided,
				Summary:  fmt.Sprintf("%s %s %s → %s lost writes and its record does not say how the loss was measured", r.Kind, r.ID, r.From, r.To),
				Evidence: ev})
		}
	}
	if len(orphans) > 0 {
		out = append(out, Violation{Invariant: NoLoss, At: orphans[0].Done,
			Summary:  fmt.Sprintf("%d acknowledged writes lost with no move after them: nothing promoted, yet the rows are gone", len(orphans)),
			Evidence: lostEvidence(orphans)})
	}
	return moves, out
}

func lostEvidence(ws []Write) []string {
	var out []string
	for i, w := range ws {
		if i == 5 {
			out = append(out, fmt.Sprintf("... and %d more", len(ws)-5))
			break
		}
		out = append(out, fmt.Sprintf("%s seq %d acknowledged by %s at %s, missing at the end", w.Client, w.Seq, orUnknown(w.Member), ts(w.Done)))
	}
	return out
}

type span struct {
	from, to time.Time
	why      string
}

// badSpans are, per site, the times it must not be answered: dead (fail site to
// restore site) or fenced (a run's fence step away from it, to the end of the next
// run that moves the application back to it).
func badSpans(h *History, runs []runbook.Record) map[string][]span {
	out := map[string][]span{}
	open := map[string]time.Time{}
	for _, f := range h.Faults {
		if f.Kills == "" || f.Err != "" {
			continue
		}
		if !f.Repair {
			if _, ok := open[f.Kills]; !ok {
				open[f.Kills] = f.At
			}
			continue
		}
		if t, ok := open[f.Kills]; ok {
			out[f.Kills] = append(out[f.Kills], span{t, f.At, "dead since " + ts(t)})
			delete(open, f.Kills)
		}
	}
	for s, t := range open {
		out[s] = append(out[s], span{t, h.End, "dead since " + ts(t)})
	}
	for i := range runs {
		r := &runs[i]
		var fenced time.Time
		for _, st := range r.Steps {
			if st.Name == "fence" && st.Ended != nil {
				fenced = *st.Ended
			}
		}
		if fenced.IsZero() || r.From == r.To {
			continue
		}
		until := h.End
		for j := i + 1; j < len(runs); j++ {
			if runs[j].To == r.From && runs[j].Decided.After(fenced) {
				until = runs[j].Decided
				if runs[j].Closed != nil {
					until = *runs[j].Closed
				}
				break
			}
		}
		out[r.From] = append(out[r.From], span{fenced, until, fmt.Sprintf("fenced by %s %s at %s", r.Kind, r.ID, ts(fenced))})
	}
	return out
}

// dnsBound: a name server answering a site longer than TTL + detection after it
// died or was fenced. One violation per site and span, at its first late answer.
func dnsBound(h *History, runs []runbook.Record, b Bounds) []Violation {
	limit := b.TTL + b.Detection
	spans := badSpans(h, runs)
	var out []Violation
	for site, ss := range spans {
		for _, s := range ss {
			var late []DNSSample
			for _, d := range h.DNS {
				if d.Site == site && d.At.After(s.from.Add(limit)) && d.At.Before(s.to) {
					late = append(late, d)
				}
			}
			if len(late) == 0 {
				continue
			}
			ev := []string{s.why}
			for i, d := range late {
				if i == 3 {
					ev = append(ev, fmt.Sprintf("... %d late answers in all, the last at %s", len(late), ts(late[len(late)-1].At)))
					break
				}
				ev = append(ev, fmt.Sprintf("%s answered %s at %s (%s after)", d.Server, site, ts(d.At), d.At.Sub(s.from).Round(time.Millisecond)))
			}
			out = append(out, Violation{Invariant: DNSBound, At: late[0].At,
				Summary:  fmt.Sprintf("the main name answered %s %s after it became dead or fenced (bound: TTL %s + detection %s)", site, late[0].At.Sub(s.from).Round(time.Millisecond), b.TTL, b.Detection),
				Evidence: ev})
		}
	}
	return out
}

// runsClose: at the end (the fleet given time to settle) every run is done,
// aborted, or failed — a failed run is resumable by a person; a run still marked
// running has nobody carrying it.
func runsClose(runs []runbook.Record) []Violation {
	var out []Violation
	for i := range runs {
		r := &runs[i]
		if r.Status != runbook.StatusRunning {
			continue
		}
		i, _ := runbook.Next(r)
		step := "none"
		if i < len(r.Steps) {
			step = r.Steps[i].Name
		}
		out = append(out, Violation{Invariant: RunsClose, At: r.Decided,
			Summary:  fmt.Sprintf("%s %s %s → %s is still running when the history ends", r.Kind, r.ID, r.From, r.To),
			Evidence: []string{fmt.Sprintf("decided %s by %s; next step %s; tokens %v", ts(r.Decided), r.Who, step, r.Tokens)}})
	}
	return out
}

// fullHealth: the first healthy look after the last repair comes within the bound.
func fullHealth(h *History, b Bounds) ([]Violation, time.Duration) {
	last := h.LastRepair()
	if last.IsZero() {
		return nil, 0
	}
	var lastWhy string
	for _, x := range h.Health {
		if x.At.Before(last) {
			continue
		}
		if x.OK {
			after := x.At.Sub(last)
			if after > b.Recovery {
				return []Violation{{Invariant: FullHealth, At: x.At,
					Summary:  fmt.Sprintf("the fleet was whole again %s after the last repair (bound %s)", after.Round(time.Second), b.Recovery),
					Evidence: []string{"last repair at " + ts(last), "before that: " + lastWhy}}}, after
			}
			return nil, after
		}
		lastWhy = x.Why
	}
	return []Violation{{Invariant: FullHealth, At: last.Add(b.Recovery),
		Summary:  fmt.Sprintf("the fleet was not whole again after the last repair (%s), looked at for %s", ts(last), h.End.Sub(last).Round(time.Second)),
		Evidence: []string{"last look: " + orUnknown(lastWhy)}}}, 0
}

func ts(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
