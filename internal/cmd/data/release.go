package data

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/postgres"
)

// Kinds of release's documents.
const (
	ReleaseKind     = "Release"
	ReleasePlanKind = "ReleasePlan"
)

// releasePlan is release --dry-run's document: the primary's synchronous standbys now
// and once released.
type releasePlan struct {
	Set     string `json:"set"`
	Mode    string `json:"mode"`
	Primary string `json:"primary"`
	Now     string `json:"synchronousStandbyNames"`
	After   string `json:"released"`
}

// releaseDoc is release's document: the promise before and after.
type releaseDoc struct {
	Set     string `json:"set"`
	Mode    string `json:"mode"`
	Primary string `json:"primary"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

func releaseCommand(o *options) *cobra.Command {
	var (
		timeout time.Duration
		output  cli.Output
		force   bool
		dryRun  bool
		df      daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "release SET --force [--dry-run] [-o FORMAT]",
		Short: "Let the primary acknowledge commits without the DR member its data-loss mode waits for",
		Long: `Let the primary of a mirror set in data-loss mode bounded or synchronous acknowledge
commits again while its DR member is out: the primary stops waiting for the bound
keeper (bounded) or for the DR member (synchronous). Its writes are then exposed to
the loss of its region beyond the promise, until a DR member streams within the
promise again: the promise then comes back by itself (the daemons' monitor, or
hadron data monitor, puts it back; so does a rejoin).

It is a decision about data, so it needs --force; with the hadron daemons running it
is not recorded in their ledger. --dry-run prints the primary's synchronous standbys
now and once released (a document of kind ReleasePlan with -o json|yaml). -o
json|yaml prints a document of kind Release.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			set := args[0]
			f, err := o.Load(set)
			if err != nil {
				return err
			}
			mode := f.DataLoss(set)
			if mode.EffectiveMode() == v1alpha1.DataLossAsync {
				return fmt.Errorf("mirror set %s is in data-loss mode async: there is no promise to release", set)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if dryRun {
				d, err := postgres.FromFleet(ctx, f, set, o.Region, o.Logger())
				if err != nil {
					return err
				}
				primary, now, after, err := d.ReleasePlan(ctx)
				if err != nil {
					return err
				}
				p := releasePlan{Set: set, Mode: mode.String(), Primary: primary, Now: now, After: after}
				return output.Print(cmd.OutOrStdout(), ReleasePlanKind, p, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%s (%s): %s would wait for %q instead of %q\n", set, p.Mode, primary, after, now)
					return err
				})
			}
			if !force {
				return fmt.Errorf("releasing the promise of mirror set %s exposes what its primary acknowledges to the loss of its region: confirm with --force", set)
			}
			if dec := df.ask(cmd.Context(), f, o.Region); dec.refusal(set) != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "releasing %s outside the hadron daemons (%s): not recorded in the ledger\n", set, dec.leader())
			}
			d, err := postgres.FromFleet(ctx, f, set, o.Region, o.Logger())
			if err != nil {
				return err
			}
			before, err := d.Status(ctx)
			if err != nil {
				return err
			}
			if err := d.Release(ctx); err != nil {
				return err
			}
			after, err := d.Status(ctx)
			if err != nil {
				return err
			}
			doc := releaseDoc{Set: set, Mode: mode.String(), Primary: after.Primary,
				Before: before.Promise.String(), After: after.Promise.String()}
			return output.Print(cmd.OutOrStdout(), ReleaseKind, doc, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s: released on %s\n  before: %s\n  now:    %s\n", set, doc.Primary, doc.Before, doc.After)
				return err
			})
		},
	}
	cli.TimeoutFlag(cmd.Flags(), &timeout, time.Minute, "")
	cli.OutputFlag(cmd.Flags(), &output)
	cmd.Flags().BoolVar(&force, "force", false, "release the promise (required)")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "print the primary's synchronous standbys now and once released; change nothing")
	df.add(cmd.Flags())
	return cmd
}

// keepBound runs the bound keeper of a bounded set on whichever member is its primary
// until ctx ends (hadron data monitor, where no daemon does it): commits wait while no
// keeper streams.
func keepBound(ctx context.Context, d *postgres.Driver) {
	for ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := d.Status(sctx)
		cancel()
		if err == nil && st.Primary != "" {
			_ = d.KeepBound(ctx, st.Primary, postgres.KeeperOptions{})
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
