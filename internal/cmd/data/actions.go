package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

func verifyCommand(o *options) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify SET",
		Short: "Write a marker on the primary and read it back on every member, with timings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			v, err := d.Verify(ctx)
			if err != nil {
				return err
			}
			if o.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), v); err != nil {
					return err
				}
			} else {
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "marker %s written on %s in %s\n", v.Marker, v.Primary, v.Write.Round(time.Microsecond))
				for _, m := range v.Members {
					if m.Seen {
						fmt.Fprintf(out, "%-12s seen after %s\n", m.Member, m.After.Round(time.Microsecond))
					} else {
						fmt.Fprintf(out, "%-12s NOT seen after %s: %s\n", m.Member, m.After.Round(time.Millisecond), m.Error)
					}
				}
			}
			if !v.OK() {
				return errVerify
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long members may take to show the marker")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "text or json")
	return cmd
}

func rejoinCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "rejoin SET MEMBER",
		Short: "Make a member follow the current primary (repoint, pg_rewind, or a fresh clone)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			if err := d.Rejoin(ctx, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s follows the primary\n", args[1])
			return nil
		},
	}
}

func bootstrapCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "bootstrap SET",
		Short: "Create the mirror set on this machine for the members with a dataDir (runs PostgreSQL as hadron-pg)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			if err := d.Bootstrap(ctx); err != nil {
				return err
			}
			st, err := d.Status(ctx)
			if err != nil {
				return err
			}
			return RenderStatus(cmd.OutOrStdout(), st)
		},
	}
}

func monitorCommand(o *options) *cobra.Command {
	var (
		interval  time.Duration
		failAfter int
		force     bool
		df        daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "monitor SET",
		Short: "Run automatic in-region failover for a mirror set until interrupted",
		Long: `Observe the mirror set every --interval. When no member accepts writes for
--fail-after observations, promote the in-region member that was synchronous (RPO 0);
repoint the other members at the new primary; fence and rejoin (pg_rewind) an old
primary that comes back. With replication.maxLagOnFailover set, an in-region member
that was not synchronous may be promoted when it lags by at most that many bytes. A DR
member in another region is never promoted automatically.

When the fleet has hadron daemons, they monitor its mirror sets themselves: the command
refuses, naming their leader (or saying that none answered), unless --force; a forced
monitor acts outside them and its promotions are not recorded in the ledger.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.verbose = true
			f, err := fleet.Load(o.fleetPath)
			if err != nil {
				return err
			}
			dec := df.ask(cmd.Context(), f, o.region)
			if err := dec.refusal(args[0]); err != nil {
				if !force {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "monitoring %s outside the hadron daemons (%s): its promotions are not recorded in the ledger\n",
					args[0], dec.leader())
			}
			d, err := postgres.FromFleet(cmd.Context(), f, args[0], o.region, o.logger())
			if err != nil {
				return err
			}
			cfg := monitor.Config{FailAfter: failAfter, FencingToken: adoptToken(cmd.Context(), d, dec.Token)}
			if r := d.Set().Spec.Replication; r != nil && r.MaxLagOnFailover != nil {
				cfg.MaxLag = *r.MaxLagOnFailover
			}
			m := &monitor.Monitor{Driver: d, Interval: interval, Config: cfg,
				Logger: o.logger().With("component", "data/monitor", "set", args[0])}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = m.Run(ctx)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between observations")
	cmd.Flags().IntVar(&failAfter, "fail-after", 3, "observations without a primary before promoting")
	cmd.Flags().BoolVar(&force, "force", false, "monitor even when the hadron daemons manage the set (outside them)")
	df.add(cmd.Flags())
	return cmd
}
