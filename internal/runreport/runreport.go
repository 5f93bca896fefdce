// Package runreport writes a run — a drill's phases, or one run of the ledger — as a
// self-contained HTML page: the timeline picture inline (internal/timeline), the
// figures a review asks for (RTO, write outage, lost writes, RPO), every step, and the
// settings used. The page loads nothing from anywhere (styles inline, no script), so it
// can be mailed, attached to a ticket or opened offline. Building the page's model is
// pure (Drill, Run); Write only renders it.
package runreport

import (
	"fmt"
	"strings"
	"time"

	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/timeline"
)

// Settings are what a drill was run with, printed so a reader can run it again.
type Settings struct {
	Trigger  string        `json:"trigger"`
	Fault    string        `json:"fault,omitempty"`
	Repair   string        `json:"repair,omitempty"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	URL      string        `json:"url,omitempty"`
	DNS      []string      `json:"dns,omitempty"`
	Rate     float64       `json:"rate"`
	Warmup   time.Duration `json:"warmupNs"`
	Timeout  time.Duration `json:"timeoutNs"`
	Failback bool          `json:"failback"`
	Repeat   int           `json:"repeat"`
}

// Page is the report's model.
type Page struct {
	Title     string
	Generated time.Time
	// Verdict is one line a reader sees first; Bad colours it.
	Verdict  string
	Bad      bool
	Sections []Section
	Settings []Fact
}

// Section is one run: its picture, its figures and its steps.
type Section struct {
	Heading  string
	Timeline timeline.Timeline
	Facts    []Fact
	Steps    []Step
}

// Fact is a labelled figure.
type Fact struct{ Label, Value string }

// Step is a row of the steps' table.
type Step struct{ Name, Took, Token, Detail string }

// Drill is the page of `hadron drill --report`: a section per phase measured (the
// failed drill's too), the statistics over repeated drills, the promises broken.
func Drill(app string, reports []drill.Report, failed *drill.Report, stats *drill.Stats, broken []string, errText string, s Settings, now time.Time) Page {
	p := Page{Title: "Drill of " + app, Generated: now}
	all := append([]drill.Report(nil), reports...)
	if failed != nil {
		all = append(all, *failed)
	}
	for i, r := range all {
		prefix := ""
		if len(all) > 1 {
			prefix = fmt.Sprintf("Drill %d: ", i+1)
		}
		if r.Drill != nil {
			p.Sections = append(p.Sections, phaseSection(prefix, r.Drill))
		}
		if r.Failback != nil {
			p.Sections = append(p.Sections, phaseSection(prefix, r.Failback))
		}
	}
	switch {
	case errText != "":
		p.Verdict, p.Bad = "The drill failed: "+errText, true
	case len(broken) > 0:
		p.Verdict, p.Bad = "Broken promise: "+strings.Join(broken, "; "), true
	case len(p.Sections) == 0:
		p.Verdict, p.Bad = "Nothing was measured.", true
	default:
		p.Verdict = "The drill passed: " + summary(all)
	}
	if stats != nil && stats.Drills > 1 {
		p.Settings = append(p.Settings,
			Fact{"system RTO p50 / max", dur(stats.SystemRTO[0]) + " / " + dur(stats.SystemRTO[1])},
			Fact{"client RTO p50 / max", dur(stats.ClientRTO[0]) + " / " + dur(stats.ClientRTO[1])},
			Fact{"lost writes p50 / max", fmt.Sprintf("%d / %d", stats.LostWrites[0], stats.LostWrites[1])})
	}
	p.Settings = append(p.Settings, settingFacts(s)...)
	return p
}

// summary is the first phase's headline figures.
func summary(reports []drill.Report) string {
	for _, r := range reports {
		if d := r.Drill; d != nil {
			return fmt.Sprintf("%s %s → %s, system RTO %s, longest write outage %s, %d acknowledged writes lost",
				d.Kind, d.From, d.To, dur(d.SystemRTO), dur(d.Unavailable), len(d.Lost))
		}
	}
	return ""
}

func phaseSection(prefix string, ph *drill.Phase) Section {
	s := Section{Heading: prefix + string(ph.Kind) + " " + ph.From + " → " + ph.To, Timeline: timeline.FromPhase(ph)}
	sys := "not measured (the run was not verified)"
	if ph.Run != nil && ph.Run.Verified != nil {
		sys = dur(ph.SystemRTO)
	}
	client := dur(ph.ClientRTO)
	switch {
	case ph.ClientRTO < 0:
		client = "not recovered when the drill ended"
	case ph.ClientRTO == 0:
		client = "no outage seen"
	}
	s.Facts = []Fact{
		{"system RTO (start → verified)", sys},
		{"client RTO (start → first accepted write)", client},
		{"longest write outage", dur(ph.Unavailable)},
		{"writes acknowledged / failed", fmt.Sprintf("%d / %d", ph.Acked, ph.Failed)},
		{"acknowledged writes lost", fmt.Sprint(len(ph.Lost))},
		{"RPO (data driver)", rpo(ph.RPOTransactions, ph.RPOBytes)},
	}
	if ph.Run != nil {
		s.Facts = append(s.Facts, Fact{"run", ph.Run.ID + " decided by " + ph.Run.Who})
		s.Steps = steps(ph.Run)
	}
	return s
}

// Run is the page of one run of the ledger (the dashboard links it from each row).
func Run(r *runbook.Record, now time.Time) Page {
	p := Page{Title: fmt.Sprintf("%s %s of %s", strings.ToUpper(string(r.Kind[:1]))+string(r.Kind[1:]), r.ID, r.App), Generated: now}
	s := Section{Heading: string(r.Kind) + " " + r.From + " → " + r.To, Timeline: timeline.FromRun(r, now), Steps: steps(r)}
	s.Facts = []Fact{{"status", string(r.Status)}, {"decided", r.Decided.UTC().Format(time.RFC3339) + " by " + r.Who}}
	if r.RTO > 0 {
		s.Facts = append(s.Facts, Fact{"RTO (decision → verified)", dur(time.Duration(r.RTO))})
	}
	if r.SystemRTO > 0 {
		s.Facts = append(s.Facts, Fact{"system RTO (first failed probe → verified)", dur(time.Duration(r.SystemRTO))})
	}
	if l := r.RPO; l != nil {
		tx := int64(-1)
		if l.Counted {
			tx = l.Transactions
		}
		s.Facts = append(s.Facts, Fact{"RPO", rpo(tx, l.Bytes)})
	}
	if r.Promoted != "" {
		s.Facts = append(s.Facts, Fact{"promoted", r.Promoted})
	}
	if r.Aborted != nil {
		s.Facts = append(s.Facts, Fact{"aborted", r.Aborted.Who + ": " + r.Aborted.Reason})
	}
	p.Sections = []Section{s}
	switch r.Status {
	case runbook.StatusDone:
		p.Verdict = "Done."
	case runbook.StatusRunning:
		p.Verdict = "Running."
	default:
		p.Verdict, p.Bad = string(r.Status)+": "+r.Error, true
	}
	return p
}

func steps(r *runbook.Record) []Step {
	var out []Step
	for _, s := range r.Steps {
		st := Step{Name: s.Name, Took: "—", Detail: s.Detail}
		if s.Started != nil && s.Ended != nil {
			st.Took = dur(s.Ended.Sub(*s.Started))
		}
		if s.Token != 0 {
			st.Token = fmt.Sprint(s.Token)
		}
		if s.Error != "" {
			st.Detail = strings.TrimSpace(st.Detail + " error: " + s.Error)
		}
		out = append(out, st)
	}
	return out
}

func settingFacts(s Settings) []Fact {
	f := []Fact{{"trigger", s.Trigger}}
	if s.Fault != "" {
		f = append(f, Fact{"fault", s.Fault})
	}
	if s.Repair != "" {
		f = append(f, Fact{"repair", s.Repair})
	}
	f = append(f, Fact{"from → to", s.From + " → " + s.To})
	if s.URL != "" {
		f = append(f, Fact{"client writes to", s.URL})
	}
	if len(s.DNS) > 0 {
		f = append(f, Fact{"client resolves at", strings.Join(s.DNS, ", ")})
	}
	f = append(f, Fact{"write rate", fmt.Sprintf("%g/s", s.Rate)}, Fact{"warm-up", dur(s.Warmup)},
		Fact{"timeout", dur(s.Timeout)}, Fact{"failback", fmt.Sprint(s.Failback)})
	if s.Repeat > 1 {
		f = append(f, Fact{"repeat", fmt.Sprint(s.Repeat)})
	}
	return f
}

func rpo(tx, bytes int64) string {
	switch {
	case tx >= 0:
		return fmt.Sprintf("%d transactions (%d bytes)", tx, bytes)
	case bytes >= 0:
		return fmt.Sprintf("at least %d bytes (transactions not counted)", bytes)
	}
	return "unknown"
}

func dur(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return d.Round(10 * time.Millisecond).String()
}
