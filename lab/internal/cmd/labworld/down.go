package labworld

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/lab/internal/world"
)

// DownCommand is `hadron-lab down`.
func DownCommand() *cobra.Command {
	var (
		df     dirFlag
		keep   bool
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "down [--keep] [--dry-run]",
		Short: "Stop every process of the lab and remove its state (--keep keeps it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := df.get()
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			if dryRun {
				pid := dir.SupervisorPID()
				st := world.Status{Dir: string(dir)}
				if pid != 0 {
					if got, err := world.NewClient(dir).Status(ctx); err == nil {
						st = got
					}
				}
				_, err := fmt.Fprint(out, planDown(st, pid != 0, keep))
				return err
			}
			if pid := dir.SupervisorPID(); pid != 0 {
				fmt.Fprintf(out, "stopping the lab in %s (supervisor pid %d)...\n", dir, pid)
				if err := world.NewClient(dir).Shutdown(ctx); err != nil {
					fmt.Fprintf(out, "supervisor did not answer (%v): sending SIGTERM\n", err)
				}
				if err := world.WaitGone(ctx, pid); err != nil {
					return err
				}
			} else if _, err := os.Stat(string(dir)); os.IsNotExist(err) {
				fmt.Fprintf(out, "no lab in %s\n", dir)
				return nil
			}
			// Whatever a crashed supervisor left behind (database servers run detached).
			if err := world.Sweep(ctx, dir); err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(out, "lab stopped; state kept in %s\n", dir)
				return nil
			}
			if err := os.RemoveAll(string(dir)); err != nil {
				return fmt.Errorf("remove lab state: %w", err)
			}
			fmt.Fprintf(out, "lab stopped and %s removed\n", dir)
			return nil
		},
	}
	df.add(cmd)
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the lab's state directory")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say what would be stopped and removed; change nothing")
	return cmd
}
