// Package plan is `hadron plan`: print what hadron would set up for a fleet, offline.
package plan

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cmd/validate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/plan"
	"hadron.dev/hadron/internal/replicate"
)

// Command returns `hadron plan`.
func Command() *cobra.Command {
	var path, output string
	var sites bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print the fleet's topology: sites by region and zone, applications, mirror sets",
		Long: `Print the fleet's topology: sites by region and zone (role, kube context, load
balancers, daemon, database members per zone), applications (mode, active and
stand-by sites, DNS names and strategy, health check), mirror sets (members with
site, zone and role) and the voting sites.

A fleet with problems is not planned: they are printed as by hadron validate and the
exit status is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validate.CheckOutput(output); err != nil {
				return cli.Exit(validate.ExitUnreadable, err)
			}
			f, err := fleet.Load(path)
			if err != nil {
				return validate.Report(cmd.ErrOrStderr(), path, validate.OutputText, f, err)
			}
			p := Of(f)
			if sites {
				// Replication needs each application's clusters: only on request, so
				// the default plan stays offline.
				log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
				p.Add(replicate.PlanSection(cmd.Context(), f.Applications, f.Sites, f.Dir, log))
			}
			w := cmd.OutOrStdout()
			if output == validate.OutputJSON {
				b, err := json.MarshalIndent(p, "", "  ")
				if err != nil {
					return fmt.Errorf("plan: %w", err)
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			}
			return p.WriteText(w)
		},
	}
	validate.AddFlags(cmd, &path, &output)
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
