// Package plan is `hadron plan`: print what hadron would set up for a fleet, offline.
package plan

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cmd/validate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/plan"
	"hadron.dev/hadron/internal/replicate"
)

// Kind is the kind of plan's document (-o json|yaml).
const Kind = "Plan"

// Command returns `hadron plan`.
func Command() *cobra.Command {
	var (
		path   string
		output cli.Output
		sites  bool
	)
	cmd := &cobra.Command{
		Use:   "plan [-f FILE] [--sites] [-o FORMAT]",
		Short: "Print the fleet's topology: sites by region and zone, applications, mirror sets",
		Long: `Print the fleet's topology: sites by region and zone (role, kube context, load
balancers, daemon, database members per zone), applications (mode, active and
stand-by sites, DNS names and strategy, health check), mirror sets (members with
site, zone and role) and the voting sites.

A fleet with problems is not planned: they are printed as by hadron validate and the
exit status is 1. -o json|yaml prints a document of kind Plan.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := fleet.Load(path)
			if err != nil {
				return validate.Report(cmd.ErrOrStderr(), path, &cli.Output{}, f, err)
			}
			p := Of(f)
			if sites {
				// Replication needs each application's clusters: only on request, so
				// the default plan stays offline.
				log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
				p.Add(replicate.PlanSection(cmd.Context(), f.Applications, f.Sites, f.Dir, log))
			}
			return output.Print(cmd.OutOrStdout(), Kind, p, func(w io.Writer) error { return p.WriteText(w) })
		},
	}
	cli.FileFlag(cmd.Flags(), &path)
	cli.OutputFlag(cmd.Flags(), &output)
	cmd.Flags().BoolVar(&sites, "sites", false, "contact each application's sites and add what replication would change on each stand-by")
	return cmd
}

// Of is the plan of a loaded fleet; later sections (replication, DNS changes) are
// added here.
func Of(f *fleet.Fleet) *plan.Plan {
	p := &plan.Plan{}
	p.Add(plan.TopologyOf(f))
	return p
}
