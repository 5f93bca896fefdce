package runreport

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"hadron.dev/hadron/internal/timeline"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	// timeline.SVG escapes every text it draws, so its output is trusted markup.
	"svg":  func(t timeline.Timeline) template.HTML { return template.HTML(timeline.SVG(t)) },
	"desc": timeline.Describe,
	"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(pageText))

// Write renders p as a complete HTML document.
func Write(w io.Writer, p Page) error {
	if err := page.Execute(w, p); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// SVG is the first section's timeline as a standalone SVG file, for pasting into an
// incident review; "" when the page has no section.
func SVG(p Page) string {
	if len(p.Sections) == 0 {
		return ""
	}
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + timeline.SVG(p.Sections[0].Timeline) + "\n"
}
