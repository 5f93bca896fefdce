package timeline

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// Layout of the picture, in SVG user units. The picture scales to its container
// (viewBox), so these fix proportions, not pixels.
const (
	width    = 960
	labelW   = 170 // step names
	rightPad = 24
	top      = 28 // room for the axis' labels
	rowH     = 24
	barH     = 14
	markRowH = 18 // one row per mark under the bars, for its label
)

// colours per bar state and mark kind: contrast ≥ 4.5:1 against white for text, and
// states told apart by outline too (a running bar dashed, a failed one thick black)
// for readers who do not see the colours.
var barFill = map[string]string{Done: "#2f6f3e", Running: "#1d4f91", Failed: "#b3261e", Waiting: "none"}

var markColour = map[string]string{
	"fault": "#b3261e", "detection": "#8a5300", "decision": "#1d4f91",
	"dns": "#6b3fa0", "verified": "#2f6f3e", "write": "#00677d",
}

// SVG draws t: one row per step, the marks as vertical lines labelled under the bars,
// an axis in seconds from the origin. It is a complete <svg> element with a title and
// a description for screen readers, and no script or outside reference, so it can be
// inlined in a page or saved as a file.
func SVG(t Timeline) string {
	span := t.Span
	if span <= 0 {
		span = time.Second
	}
	plotW := float64(width - labelW - rightPad)
	x := func(d time.Duration) float64 {
		return float64(labelW) + plotW*float64(max(d, 0))/float64(span)
	}
	barsH := rowH * len(t.Bars)
	height := top + barsH + markRowH*len(t.Marks) + 12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" font-family="system-ui, sans-serif" font-size="12">`, width, height, esc("Timeline of "+t.Title))
	fmt.Fprintf(&b, `<title>%s</title><desc>%s</desc>`, esc(t.Title), esc(Describe(t)))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, width, height)
	for _, tick := range ticks(span) {
		tx := x(tick)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d0d0d0"/>`, tx, top-6, tx, top+barsH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`, tx, top-10, seconds(tick))
	}
	for i, bar := range t.Bars {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#111">%s</text>`, labelW-8, y+rowH/2+4, esc(bar.Name))
		if bar.State == Waiting {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">waiting</text>`, labelW+4, y+rowH/2+4)
			continue
		}
		x0, x1 := x(bar.Start), x(bar.End)
		w := max(x1-x0, 2)
		stroke := ""
		if bar.State == Running {
			stroke = ` stroke="#0b2a55" stroke-width="2" stroke-dasharray="6 3"`
		}
		if bar.State == Failed {
			stroke = ` stroke="#000" stroke-width="2" stroke-dasharray="4 2"`
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"%s><title>%s</title></rect>`,
			x0, y+(rowH-barH)/2, w, barH, barFill[bar.State], stroke, esc(barTitle(bar)))
		// The length beside the bar, or inside its end (white on the bar's colour)
		// when the bar reaches the right edge.
		if lx := x0 + w + 4; lx <= float64(width-rightPad-44) || w < 60 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#111">%s</text>`, min(lx, float64(width-44)), y+rowH/2+4, seconds(bar.End-bar.Start))
		} else {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end" fill="#fff">%s</text>`, x0+w-4, y+rowH/2+4, seconds(bar.End-bar.Start))
		}
	}
	for i, m := range t.Marks {
		mx := x(m.At)
		c := markColour[m.Kind]
		if c == "" {
			c = "#333"
		}
		ly := top + barsH + markRowH*(i+1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`, mx, top-4, mx, ly-4, c)
		anchor, lx := "start", mx+4
		if mx > float64(width)/2 {
			anchor, lx = "end", mx-4
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" fill="%s">%s %s</text>`, lx, ly, anchor, c, esc(m.Label), seconds(m.At))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Describe says the timeline in words, for the SVG's description and for readers of
// a page who cannot see the picture.
func Describe(t Timeline) string {
	var parts []string
	for _, m := range t.Marks {
		parts = append(parts, m.Label+" at "+seconds(m.At))
	}
	for _, b := range t.Bars {
		if b.State == Waiting {
			parts = append(parts, "step "+b.Name+" waiting")
			continue
		}
		parts = append(parts, fmt.Sprintf("step %s %s from %s to %s", b.Name, b.State, seconds(b.Start), seconds(b.End)))
	}
	return strings.Join(parts, "; ")
}

func barTitle(b Bar) string {
	s := fmt.Sprintf("%s: %s, %s → %s", b.Name, b.State, seconds(b.Start), seconds(b.End))
	if b.Detail != "" {
		s += " — " + b.Detail
	}
	if b.Error != "" {
		s += " — error: " + b.Error
	}
	return s
}

// ticks are about six round steps (1, 2 or 5 × a power of ten, in seconds or below)
// across span.
func ticks(span time.Duration) []time.Duration {
	step := time.Millisecond
	for span/step > 6 {
		switch s := step; {
		case isDecade(s):
			step = 2 * s
		case isDecade(s / 2):
			step = s / 2 * 5
		default:
			step = s / 5 * 10
		}
	}
	var out []time.Duration
	for d := time.Duration(0); d <= span; d += step {
		out = append(out, d)
	}
	return out
}

// isDecade says whether d is a power of ten of nanoseconds.
func isDecade(d time.Duration) bool {
	for d >= 10 && d%10 == 0 {
		d /= 10
	}
	return d == 1
}

// seconds writes d as seconds with as many decimals as make sense.
func seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case d == 0:
		return "0 s"
	case s >= 100 || s <= -100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10 || s <= -10:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

func esc(s string) string { return html.EscapeString(s) }
