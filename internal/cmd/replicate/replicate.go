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

	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/standby"
)

// Command returns `hadron replicate`.
func Command() *cobra.Command {
	var (
		file, output string
		dryRun       bool
		verbose      bool
		workers      int
		every        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replicate [APP]",
		Short: "Keep an application's stand-by sites in step with its active site until interrupted",
		Long: `Keep an application's stand-by sites in step with its active site until interrupted.

Watches the application's objects on the active site (namespace + selector, plus the
Secrets the policy names), transforms them for each stand-by (clean-up, site names,
stand-by style, the fleet's rules) and server-side applies them with field manager
hadron. Objects on a stand-by that hadron did not write are never changed; they are
reported as conflicts. Exported Services are imported into the other sites.

--dry-run prints the plan (the same planner) and exits.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("component", "replicate")
			f, err := fleet.Load(file)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			app, err := replicate.PickApplication(f.Applications, name)
			if err != nil {
				return err
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
				return PrintPlan(cmd.OutOrStdout(), app.Name, append(snap.Changes, imports...), output)
			}
			return standby.Run(ctx, standby.Config{App: app, Sites: f.Sites, Active: sites.Active, Standbys: sites.Standbys,
				Log: log, Workers: workers, DiscoveryEvery: every})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", fleet.DefaultPath(), "fleet file or directory (default from $"+fleet.EnvFleet+")")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "plan output with --dry-run: text or json")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and exit without changing anything")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every decision")
	cmd.Flags().IntVar(&workers, "workers", 4, "objects reconciled at once")
	cmd.Flags().DurationVar(&every, "discovery-interval", 5*time.Second, "how often exported services are synced")
	return cmd
}
