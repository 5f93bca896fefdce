package dashboard

import (
	"fmt"
	"html"
	"strings"
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// Point is one run of the ledger on the chart.
type Point struct {
	ID      string
	Kind    string
	Decided time.Time
	// RTO is the system RTO when the run measured one (first failed probe →
	// verified), else decision → verified; 0 when it was never verified.
	RTO time.Duration
	// RPO is the transactions lost (-1: unknown or not counted); Bytes the WAL lost.
	RPO   int64
	Bytes int64
}

// ChartRuns is how many of an application's newest runs its chart shows.
const ChartRuns = 30

// Points are app's runs that moved it (not a person's promotion outside the daemons),
// oldest first, at most ChartRuns.
func Points(history []runbook.Record, app string) []Point {
	var out []Point
	for _, r := range history {
		if r.App != app || r.Kind == runbook.Promote {
			continue
		}
		p := Point{ID: r.ID, Kind: string(r.Kind), Decided: r.Decided, RTO: time.Duration(r.RTO), RPO: -1, Bytes: -1}
		if r.SystemRTO > 0 {
			p.RTO = time.Duration(r.SystemRTO)
		}
		if l := r.RPO; l != nil {
			p.Bytes = l.Bytes
			if l.Counted {
				p.RPO = l.Transactions
			}
		}
		out = append(out, p)
	}
	if len(out) > ChartRuns {
		out = out[len(out)-ChartRuns:]
	}
	return out
}

var kindColour = map[string]string{"failover": "#b3261e", "switchover": "#1d4f91", "failback": "#2f6f3e"}

// ChartSVG draws pts as bars of RTO in seconds, one per run in order, with the RPO
// written under each bar; each bar has a title that says the run in words.
func ChartSVG(app string, pts []Point) string {
	const w, h, left, bottom, top = 640, 220, 48, 56, 16
	var most time.Duration
	for _, p := range pts {
		most = max(most, p.RTO)
	}
	if most <= 0 {
		most = time.Second
	}
	plotH := float64(h - bottom - top)
	slot := float64(w-left-8) / float64(max(len(pts), 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" font-family="system-ui, sans-serif" font-size="11">`,
		w, h, html.EscapeString(fmt.Sprintf("RTO and RPO of the last %d runs of %s", len(pts), app)))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, h)
	for _, frac := range []float64{0, .5, 1} {
		y := float64(top) + plotH*(1-frac)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d0d0"/>`, left, y, w-8, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#333">%.1f s</text>`, left-4, y+4, most.Seconds()*frac)
	}
	fmt.Fprintf(&b, `<text x="4" y="%d" fill="#333">RPO</text>`, h-bottom+30)
	for i, p := range pts {
		x := float64(left) + slot*float64(i) + slot*0.15
		bw := slot * 0.7
		bh := plotH * float64(p.RTO) / float64(most)
		c := kindColour[p.Kind]
		if c == "" {
			c = "#555"
		}
		rpo := "?"
		if p.RPO >= 0 {
			rpo = fmt.Sprint(p.RPO)
		}
		title := fmt.Sprintf("%s %s on %s: RTO %s, RPO %s transactions", p.Kind, p.ID, p.Decided.UTC().Format("2006-01-02 15:04:05"),
			p.RTO.Round(10*time.Millisecond), rpo)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
			x, float64(top)+plotH-bh, bw, max(bh, 1), c, html.EscapeString(title))
		fill := "#111"
		if p.RPO > 0 {
			fill = "#b3261e"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`, x+bw/2, h-bottom+30, fill, rpo)
		if i == 0 || i == len(pts)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`, x+bw/2, h-bottom+14, p.Decided.UTC().Format("01-02 15:04"))
		}
	}
	legend := 0
	for _, k := range []string{"failover", "switchover", "failback"} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" fill="#333">%s</text>`,
			left+legend, h-14, kindColour[k], left+legend+14, h-5, k)
		legend += 100
	}
	b.WriteString(`</svg>`)
	return b.String()
}
