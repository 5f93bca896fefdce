package replicate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// Section is the replication part of `hadron plan`: for each application, what
// replication would change on each stand-by site. It has the shape of a plan section
// (Key, Title, WriteText, JSON) without importing the plan package.
type Section struct {
	Applications []AppPlan `json:"applications"`
}

// AppPlan is one application's replication plan, or why it could not be made.
type AppPlan struct {
	Application string                 `json:"application"`
	Active      string                 `json:"active"`
	Changes     []PlanLine             `json:"changes"`
	Summary     map[objects.Action]int `json:"summary"`
	Warnings    []string               `json:"warnings,omitempty"`
	Error       string                 `json:"error,omitempty"`
}

// PlanLine is one change as printed.
type PlanLine struct {
	Site   string         `json:"site"`
	Object string         `json:"object"`
	Action objects.Action `json:"action"`
	Reason string         `json:"reason,omitempty"`
	Diff   []string       `json:"diff,omitempty"`
}

// PlanSection contacts every application's sites and plans replication. A site that
// cannot be reached makes that application's entry an error, not the whole plan.
func PlanSection(ctx context.Context, apps []*v1alpha1.Application, siteList []*v1alpha1.Site, dir string, log *slog.Logger) *Section {
	s := &Section{}
	for _, app := range apps {
		ap := AppPlan{Application: app.Name, Active: app.Spec.Policy.ActiveSite}
		sites, err := ConnectApp(siteList, dir, app)
		if err == nil {
			var snap *Snapshot
			if snap, err = Take(ctx, app, sites.Active, sites.Standbys, log); err == nil {
				ap.Summary, ap.Warnings = objects.Summary(snap.Changes), snap.Warnings
				for _, c := range snap.Changes {
					if c.Action != objects.ActionInSync {
						ap.Changes = append(ap.Changes, PlanLine{c.Site, c.Ref.String(), c.Action, c.Reason, c.Diff})
					}
				}
			}
		}
		if err != nil {
			ap.Error = err.Error()
		}
		s.Applications = append(s.Applications, ap)
	}
	return s
}

// Key names the section in JSON output.
func (s *Section) Key() string { return "replication" }

// Title heads the section in text output.
func (s *Section) Title() string { return "Replication" }

// WriteText prints one table per application.
func (s *Section) WriteText(w io.Writer) error {
	for _, ap := range s.Applications {
		if ap.Error != "" {
			if _, err := fmt.Fprintf(w, "%s: cannot plan: %s\n", ap.Application, ap.Error); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s (active %s): %d to create, %d to update, %d to delete, %d in sync, %d deferred, %d conflicts, %d errors\n",
			ap.Application, ap.Active, ap.Summary[objects.ActionCreate], ap.Summary[objects.ActionUpdate], ap.Summary[objects.ActionDelete],
			ap.Summary[objects.ActionInSync], ap.Summary[objects.ActionDeferred], ap.Summary[objects.ActionConflict], ap.Summary[objects.ActionError])
		for _, m := range ap.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", m)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range ap.Changes {
			reason := c.Reason
			if len(c.Diff) > 0 {
				reason += " (" + strings.Join(c.Diff, "; ") + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Site, c.Action, c.Object, reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
