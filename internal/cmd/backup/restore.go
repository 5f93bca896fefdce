package backup

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// Restore is backup restore's document.
type Restore struct {
	MirrorSet string `json:"mirrorSet"`
	Member    string `json:"member"`
	// Target is the time restored to; empty for the end of the archive.
	Target string        `json:"target,omitempty"`
	Took   time.Duration `json:"took"`
}

func restoreCommand(o *options) *cobra.Command {
	var (
		output   cli.Output
		timeout  time.Duration
		toTime   string
		toLatest bool
		at       string
	)
	cmd := &cobra.Command{
		Use:   "restore SET (--to-time T | --to-latest) --at SITE [-o FORMAT]",
		Short: "Rebuild the set's primary at a site from the archive, to a point in time or the latest",
		Long: `Restore the set's member at SITE that hadron runs here (its dataDir, which must
be empty or absent) from the newest backup before the target and the archived WAL
up to it, start it and wait until it was promoted: the primary of a rebuilt set,
archiving into the same repository on a new timeline. Its stand-bys are then made
with 'hadron data bootstrap' or 'hadron data rejoin'.

--to-time takes RFC 3339 (2026-12-06T21:03:26.5Z): the last transaction committed
before it is the last one restored.

-o json|yaml prints a document of kind BackupRestore.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			var target pgbackrest.Target
			switch {
			case (toTime == "") == !toLatest:
				return cli.Usagef("give one of --to-time and --to-latest")
			case at == "":
				return cli.Usagef("--at SITE is required")
			case toTime != "":
				t, err := time.Parse(time.RFC3339Nano, toTime)
				if err != nil {
					return cli.Usagef("--to-time %q: want RFC 3339, e.g. 2026-12-06T21:03:26.5Z", toTime)
				}
				target.Time = t
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.open(ctx, args[0])
			if err != nil {
				return err
			}
			start := time.Now()
			member, err := d.RestoreAt(ctx, at, target, timeout)
			if err != nil {
				return err
			}
			r := Restore{MirrorSet: args[0], Member: member, Took: time.Since(start).Round(time.Millisecond)}
			if !target.Time.IsZero() {
				r.Target = target.Time.UTC().Format(time.RFC3339Nano)
			}
			return output.Print(cmd.OutOrStdout(), RestoreKind, r, func(w io.Writer) error {
				to := "the end of the archive"
				if r.Target != "" {
					to = r.Target
				}
				_, err := fmt.Fprintf(w, "%s restored to %s and promoted in %s\n", member, to, r.Took)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&toTime, "to-time", "", "restore up to this time (RFC 3339)")
	f.BoolVar(&toLatest, "to-latest", false, "restore to the end of the archive")
	f.StringVar(&at, "at", "", "the site whose member is rebuilt")
	cli.CompleteSiteFlag(cmd, "at")
	cli.OutputFlag(f, &output)
	cli.TimeoutFlag(f, &timeout, time.Hour, "")
	return cmd
}
