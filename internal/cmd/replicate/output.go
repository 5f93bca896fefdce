package replicate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"hadron.dev/hadron/internal/objects"
)

// PrintPlan writes a replication plan as a table (text) or as JSON; `hadron plan`
// uses it for its replication section.
func PrintPlan(w io.Writer, app string, cs []objects.Change, output string) error {
	if output == "json" {
		type row struct {
			Site   string   `json:"site"`
			Object string   `json:"object"`
			Action string   `json:"action"`
			Reason string   `json:"reason,omitempty"`
			Diff   []string `json:"diff,omitempty"`
		}
		rows := []row{}
		for _, c := range cs {
			rows = append(rows, row{c.Site, c.Ref.String(), string(c.Action), c.Reason, c.Diff})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"application": app, "changes": rows, "summary": objects.Summary(cs)})
	}
	if output != "text" && output != "" {
		return fmt.Errorf("--output %q: want text or json", output)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tACTION\tOBJECT\tREASON")
	for _, c := range cs {
		if c.Action == objects.ActionInSync {
			continue
		}
		reason := c.Reason
		if len(c.Diff) > 0 {
			reason += " (" + strings.Join(c.Diff, "; ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Site, c.Action, c.Ref, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := objects.Summary(cs)
	_, err := fmt.Fprintf(w, "%s: %d to create, %d to update, %d to delete, %d in sync, %d deferred to failover, %d conflicts, %d errors\n",
		app, s[objects.ActionCreate], s[objects.ActionUpdate], s[objects.ActionDelete], s[objects.ActionInSync],
		s[objects.ActionDeferred], s[objects.ActionConflict], s[objects.ActionError])
	return err
}
