package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/data/postgres"
)

// Kinds of verify's and rejoin's documents.
const (
	VerifyKind = "VerifyReport"
	RejoinKind = "Rejoin"
)

func verifyCommand(o *options) *cobra.Command {
	var (
		timeout time.Duration
		output  cli.Output
	)
	cmd := &cobra.Command{
		Use:   "verify SET [-o FORMAT]",
		Short: "Write a marker on the primary and read it back on every member, with timings",
		Long: `Write a marker on the primary and read it back on every member, with timings.

Exit status 1 when a member did not show the marker within --timeout. -o json|yaml
prints a document of kind VerifyReport.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.Open(ctx, args[0])
			if err != nil {
				return err
			}
			v, err := d.Verify(ctx)
			if err != nil {
				return err
			}
			if err := output.Print(cmd.OutOrStdout(), VerifyKind, v, func(out io.Writer) error {
				fmt.Fprintf(out, "marker %s written on %s in %s\n", v.Marker, v.Primary, v.Write.Round(time.Microsecond))
				for _, m := range v.Members {
					if m.Seen {
						fmt.Fprintf(out, "%-12s seen after %s\n", m.Member, m.After.Round(time.Microsecond))
					} else {
						fmt.Fprintf(out, "%-12s NOT seen after %s: %s\n", m.Member, m.After.Round(time.Millisecond), withoutName(m.Member, m.Error))
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if !v.OK() {
				return errVerify
			}
			return nil
		},
	}
	cli.TimeoutFlag(cmd.Flags(), &timeout, 10*time.Second, "how long members may take to show the marker before giving up")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

// rejoinDoc is rejoin's document: the member follows the primary.
type rejoinDoc struct {
	Set     string `json:"set"`
	Member  string `json:"member"`
	Primary string `json:"primary"`
}

func rejoinCommand(o *options) *cobra.Command {
	var (
		timeout time.Duration
		output  cli.Output
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "rejoin SET MEMBER [--dry-run] [-o FORMAT]",
		Short: "Make a member follow the current primary (repoint, pg_rewind, or a fresh clone)",
		Long: `Make a member follow the current primary: a standby is restarted streaming from
it; a former primary, a diverged or an unreachable member with a dataDir on this
machine is rewound with pg_rewind (cloned afresh when the rewound member does not
follow).

--dry-run says which of these it would do with the state observed now (a document of
kind RejoinPlan with -o json|yaml). -o json|yaml prints a document of kind Rejoin.`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: cli.CompleteMirrorSetMember,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, member := args[0], args[1]
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.Open(ctx, set, member)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				st, err := d.Status(ctx)
				if err != nil {
					return err
				}
				p := PlanRejoin(st, memberOf(d.Set(), member))
				if err := output.Print(out, RejoinPlanKind, p, p.Write); err != nil {
					return err
				}
				if p.Action == RejoinRefused {
					return fmt.Errorf("cannot rejoin %s: %s", member, p.Reason)
				}
				return nil
			}
			if err := d.Rejoin(ctx, member); err != nil {
				return err
			}
			doc := rejoinDoc{Set: set, Member: member}
			if st, err := d.Status(ctx); err == nil {
				doc.Primary = st.Primary
			}
			return output.Print(out, RejoinKind, doc, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s follows the primary\n", member)
				return err
			})
		},
	}
	cli.TimeoutFlag(cmd.Flags(), &timeout, 10*time.Minute, "")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say whether the member would be repointed or rewound, with the state observed now; change nothing")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func bootstrapCommand(o *options) *cobra.Command {
	var (
		timeout time.Duration
		output  cli.Output
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap SET [--dry-run] [-o FORMAT]",
		Short: "Create the mirror set on this machine for the members with a dataDir (runs PostgreSQL as hadron-pg)",
		Long: `Create the mirror set on this machine for the members with a dataDir: initdb of
the primary, pg_basebackup of the others, replication slots and the synchronous
standby; members initialized already are only started. Then print the status (a
document of kind MirrorSetStatus with -o json|yaml).

--dry-run says what it would do for each member with what it finds now (a document
of kind BootstrapPlan).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.Open(ctx, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				st, err := d.Status(ctx)
				if err != nil {
					st = nil // nothing running yet: the plan starts from the directories
				}
				p := PlanBootstrap(d.Set(), st, initialized)
				return output.Print(out, BootstrapPlanKind, p, p.Write)
			}
			if err := d.Bootstrap(ctx); err != nil {
				return err
			}
			st, err := d.Status(ctx)
			if err != nil {
				return err
			}
			return output.Print(out, StatusKind, st, func(w io.Writer) error { return RenderStatus(w, st) })
		},
	}
	cli.TimeoutFlag(cmd.Flags(), &timeout, 10*time.Minute, "")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say what would be done for each member with what is found now; change nothing")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func monitorCommand(o *options) *cobra.Command {
	var (
		interval  time.Duration
		failAfter int
		force     bool
		df        daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "monitor SET [--force]",
		Short: "Run automatic in-region failover for a mirror set until interrupted",
		Long: `Observe the mirror set every --interval. When no member accepts writes for
--fail-after observations, promote the in-region member that was synchronous (RPO 0);
repoint the other members at the new primary; fence and rejoin (pg_rewind) an old
primary that comes back. With replication.maxLagOnFailover set, an in-region member
that was not synchronous may be promoted when it lags by at most that many bytes. A DR
member in another region is never promoted automatically. For a set in data-loss mode
bounded it also runs the bound keeper on the primary (commits wait while none runs).

When the fleet has hadron daemons, they monitor its mirror sets themselves: the command
refuses, naming their leader (or saying that none answered), unless --force; a forced
monitor acts outside them and its promotions are not recorded in the ledger.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Verbose = true
			f, err := o.Load(args[0])
			if err != nil {
				return err
			}
			dec := df.ask(cmd.Context(), f, o.Region)
			if err := dec.refusal(args[0]); err != nil {
				if !force {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "monitoring %s outside the hadron daemons (%s): its promotions are not recorded in the ledger\n",
					args[0], dec.leader())
			}
			d, err := postgres.FromFleet(cmd.Context(), f, args[0], o.Region, o.Logger())
			if err != nil {
				return err
			}
			cfg := monitor.Config{FailAfter: failAfter, FencingToken: adoptToken(cmd.Context(), d, dec.Token)}
			if r := d.Set().Spec.Replication; r != nil && r.MaxLagOnFailover != nil {
				cfg.MaxLag = *r.MaxLagOnFailover
			}
			m := &monitor.Monitor{Driver: d, Interval: interval, Config: cfg,
				Logger: o.Logger().With("component", "data/monitor", "set", args[0])}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if f.DataLoss(args[0]).EffectiveMode() == v1alpha1.DataLossBounded {
				go keepBound(ctx, d)
			}
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
