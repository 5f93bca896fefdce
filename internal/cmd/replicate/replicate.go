// Package replicate is `hadron replicate`: run the replicator of an application in
// the foreground (the daemon will run the same code), or print its plan.
package replicate

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/standby"
)

// Command returns `hadron replicate`.
func Command() *cobra.Command {
	var (
		file    string
		output  cli.Output
		dryRun  bool
		verbose bool
		workers int
		every   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replicate [APP] [-f FILE] [--dry-run [-o FORMAT]]",
		Short: "Keep an application's stand-by sites in step with its active site until interrupted",
		Long: `Keep an application's stand-by sites in step with its active site until interrupted.

Watches the application's objects on the active site (namespace + selector, plus the
Secrets the policy names), transforms them for each stand-by (clean-up, site names,
stand-by style, the fleet's rules) and server-side applies them with field manager
hadron. Objects on a stand-by that hadron did not write are never changed; they are
reported as conflicts. Exported Services are imported into the other sites.

--dry-run prints the plan (the same planner) from the objects there now and exits;
with -o json|yaml, as a document of kind ReplicationPlan.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cli.CompleteApplications,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun && !output.Text() {
				return cli.Usagef("-o %s goes with --dry-run: replicate prints a plan only then", output.Format())
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("component", "replicate")
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			app, err := replicate.PickApplication(f.Applications, name)
			if err != nil {
				return cli.Usagef("%w", err)
			}
			sites, err := replicate.ConnectApp(f.Sites, f.Dir, app)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			members := discovery.Members(app, f.Sites, sites.Conns())
			if dryRun {
				snap, err := replicate.Take(ctx, app, sites.Active, sites.Standbys, log)
				if err != nil {
					return err
				}
				imports, err := discovery.Sync(ctx, app, members, true, log)
				if err != nil {
					log.Warn("discovery", "err", err)
				}
				return PrintPlan(cmd.OutOrStdout(), app.Name, append(snap.Changes, imports...), &output)
			}
			return standby.Run(ctx, standby.Config{App: app, Sites: f.Sites, Active: sites.Active, Standbys: sites.Standbys,
				Log: log, Workers: workers, DiscoveryEvery: every})
		},
	}
	cli.FileFlag(cmd.Flags(), &file)
	cli.OutputFlag(cmd.Flags(), &output)
	cli.DryRunFlag(cmd.Flags(), &dryRun, "print the plan from the objects there now and exit without changing anything")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every decision")
	cmd.Flags().IntVar(&workers, "workers", 4, "objects reconciled at once")
	cmd.Flags().DurationVar(&every, "discovery-interval", 5*time.Second, "how often exported services are synced")
	return cmd
}
