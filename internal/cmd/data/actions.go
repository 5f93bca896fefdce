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

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/monitor"
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

func promoteCommand(o *options) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "promote SET MEMBER",
		Short: "Promote a member by hand; states the data it would lose and needs --force when that is not zero",
		Long: `Promote MEMBER to primary. First the data the promotion would lose is stated (the
old primary's last flush position minus what MEMBER received). When that is not zero the
promotion is refused unless --force. The old primary is fenced (made read-only) when it
is reachable. After the promotion the exact loss is reported: WAL bytes and committed
transactions, counted on the old primary.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Minute)
			defer cancel()
			out := cmd.OutOrStdout()
			res, err := data.Failover(ctx, d, args[1], data.FailoverOptions{Force: force, Logger: o.logger()})
			var le *data.LossError
			if errors.As(err, &le) {
				if le.Loss.Bytes < 0 {
					fmt.Fprintf(out, "promoting %s may lose data: %v\n", args[1], le)
				} else {
					fmt.Fprintf(out, "promoting %s would lose %d bytes of WAL (old primary flushed %s, %s received %s)\n",
						args[1], le.Loss.Bytes, le.Loss.To, args[1], le.Loss.From)
				}
				return fmt.Errorf("refusing to promote %s: it would lose data; run again with --force to accept the loss", args[1])
			}
			if err != nil {
				return err
			}
			if o.output == "json" {
				return writeJSON(out, res)
			}
			fmt.Fprintf(out, "promoted %s in %s: timeline %d, carried WAL up to %s\n", res.Member, res.Took.Round(time.Millisecond), res.Timeline, res.ReplayLSN)
			if l := res.Loss; l != nil && l.Bytes < 0 {
				fmt.Fprintf(out, "lost: unknown (no primary was reachable); the promoted member carried WAL up to %s\n", l.From)
			} else if l != nil {
				tx := "unknown (old primary unreadable)"
				if l.Counted {
					tx = fmt.Sprint(l.Transactions)
				}
				fmt.Fprintf(out, "lost: %d bytes of WAL, %s committed transactions (%s .. %s; %s)\n", l.Bytes, tx, l.From, l.To, l.Method)
			}
			fmt.Fprintf(out, "other members follow the new primary with: hadron data rejoin %s MEMBER\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "promote even when data would be lost")
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
	var interval time.Duration
	var failAfter int
	cmd := &cobra.Command{
		Use:   "monitor SET",
		Short: "Run automatic in-region failover for a mirror set until interrupted",
		Long: `Observe the mirror set every --interval. When no member accepts writes for
--fail-after observations, promote the in-region member that was synchronous (RPO 0);
repoint the other members at the new primary; fence and rejoin (pg_rewind) an old
primary that comes back. With replication.maxLagOnFailover set, an in-region member
that was not synchronous may be promoted when it lags by at most that many bytes. A DR
member in another region is never promoted automatically.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.verbose = true
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cfg := monitor.Config{FailAfter: failAfter}
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
	return cmd
}
