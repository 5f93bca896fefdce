package dashboard

import (
	"fmt"
	"strings"
	"time"

	"hadron.dev/hadron/internal/api"
)

// StaleAfter is the age past which a readiness report is flagged as old: the leader
// checks every 30 s (internal/daemon), so three missed checks mean nobody checks now
// (no leader, a run open, or the sites unreachable).
const StaleAfter = 90 * time.Second

// ReadinessView is the leader's latest check of an application's stand-by sites:
// the findings of `hadron check readiness` and the object parity per stand-by.
type ReadinessView struct {
	At     time.Time `json:"at"`
	Leader string    `json:"leader"`
	Active string    `json:"active"`
	// Stale is set past StaleAfter. (The age itself is left to the page: a view that
	// changed every second would be sent every time.)
	Stale    bool         `json:"stale"`
	Error    string       `json:"error,omitempty"`
	Findings []Finding    `json:"findings"`
	Parity   []ParityView `json:"parity"`
}

// ParityView is one stand-by site's object parity: a level, the counts in words and
// the objects that need an action.
type ParityView struct {
	Site    string   `json:"site"`
	Level   string   `json:"level"`
	Summary string   `json:"summary"`
	Off     []string `json:"off"`
}

// parityStates are the parity states in the order the page says them, with the level
// each gives a site: a copy missing, drifted, someone else's or failing is a stand-by
// that would not take over as the active site runs; an extra object is left over.
var parityStates = []struct{ state, level string }{
	{"in-sync", "ok"}, {"deferred", "ok"}, {"drifted", "bad"}, {"missing", "bad"},
	{"not-owned", "bad"}, {"error", "bad"}, {"extra", "warn"},
}

// findingLevels maps the readiness levels to the page's.
var findingLevels = map[string]string{"ok": "ok", "warn": "warn", "fail": "bad"}

func readinessView(r *api.Readiness, now time.Time) *ReadinessView {
	if r == nil {
		return nil
	}
	age := now.Sub(r.At)
	v := &ReadinessView{At: r.At, Leader: r.Leader, Active: r.Active, Stale: age > StaleAfter, Error: r.Error, Findings: []Finding{}, Parity: []ParityView{}}
	for _, f := range r.Findings {
		level := findingLevels[f.Level]
		if level == "" {
			level = "warn"
		}
		text := f.Check
		if f.Site != "" {
			text += " on " + f.Site
		}
		text += ": " + f.Message
		if f.Action != "" {
			text += " — " + f.Action
		}
		v.Findings = append(v.Findings, Finding{Level: level, Text: text})
	}
	for _, p := range r.Parity {
		pv := ParityView{Site: p.Site, Level: "ok", Off: []string{}}
		var parts []string
		for _, s := range parityStates {
			n := p.Counts[s.state]
			if n == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, s.state))
			if levelRank[s.level] < levelRank[pv.Level] {
				pv.Level = s.level
			}
		}
		if len(parts) == 0 {
			parts = []string{"no objects"}
		}
		pv.Summary = strings.Join(parts, ", ")
		for _, o := range p.Off {
			line := o.Object + " " + o.State
			if o.Reason != "" && o.Reason != o.State {
				line += " (" + o.Reason + ")"
			}
			pv.Off = append(pv.Off, line)
		}
		if p.More > 0 {
			pv.Off = append(pv.Off, fmt.Sprintf("and %d more (hadron check parity lists them all)", p.More))
		}
		v.Parity = append(v.Parity, pv)
	}
	return v
}

// readinessFindings sums the readiness report up in the application's findings: one
// line, the detail being the report's own list.
func readinessFindings(r *ReadinessView) []Finding {
	if r == nil {
		return nil // not checked yet, or sites that are not Kubernetes clusters
	}
	var out []Finding
	if r.Error != "" {
		out = append(out, Finding{Level: "warn", Text: "stand-by readiness could not be checked: " + r.Error})
	}
	failed, warned := 0, 0
	for _, f := range r.Findings {
		switch f.Level {
		case "bad":
			failed++
		case "warn":
			warned++
		}
	}
	for _, p := range r.Parity {
		switch p.Level {
		case "bad":
			failed++
		case "warn":
			warned++
		}
	}
	switch {
	case failed > 0:
		out = append(out, Finding{Level: "bad", Text: fmt.Sprintf("stand-by readiness: %d check(s) failed, %d warning(s)", failed, warned)})
	case warned > 0:
		out = append(out, Finding{Level: "warn", Text: fmt.Sprintf("stand-by readiness: %d warning(s)", warned)})
	case r.Error == "":
		out = append(out, Finding{Level: "ok", Text: fmt.Sprintf("stand-bys ready: %d check(s) pass, objects in parity", len(r.Findings))})
	}
	if r.Stale {
		out = append(out, Finding{Level: "warn", Text: "the readiness report dates from " + r.At.UTC().Format("15:04:05 UTC") + ": no leader has checked since"})
	}
	return out
}
