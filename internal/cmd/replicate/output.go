package replicate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/objects"
)

// PlanKind is the kind of `hadron replicate --dry-run`'s document (-o json|yaml).
const PlanKind = "ReplicationPlan"

// planDoc is the replication plan's document.
type planDoc struct {
	Application string                 `json:"application"`
	Changes     []planRow              `json:"changes"`
	Summary     map[objects.Action]int `json:"summary"`
}

type planRow struct {
	Site   string   `json:"site"`
	Object string   `json:"object"`
	Action string   `json:"action"`
	Reason string   `json:"reason,omitempty"`
	Diff   []string `json:"diff,omitempty"`
}

// PrintPlan writes a replication plan as a table (text) or as a document.
func PrintPlan(w io.Writer, app string, cs []objects.Change, output *cli.Output) error {
	doc := planDoc{Application: app, Changes: []planRow{}, Summary: objects.Summary(cs)}
	for _, c := range cs {
		doc.Changes = append(doc.Changes, planRow{c.Site, c.Ref.String(), string(c.Action), c.Reason, c.Diff})
	}
	return output.Print(w, PlanKind, doc, func(w io.Writer) error { return writePlan(w, app, cs) })
}

func writePlan(w io.Writer, app string, cs []objects.Change) error {
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
