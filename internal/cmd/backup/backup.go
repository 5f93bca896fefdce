// Package backup wires `hadron backup ...`: status, run, list and restore of a
// mirror set's pgBackRest repository (spec.backup).
package backup

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cmd/setcmd"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/data/postgres"
)

// Kinds of the documents -o json|yaml prints.
const (
	StatusKind  = "BackupStatus"
	RunKind     = "BackupRun"
	ListKind    = "BackupList"
	RestoreKind = "BackupRestore"
)

type options struct{ setcmd.Options }

// Command returns `hadron backup`.
func Command() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "backup",
		SilenceUsage:  true,
		SilenceErrors: true,
		Short:         "Backups of mirror sets: archive status, run, list, restore to a point in time",
		Long: `Operate a mirror set's backup repository (spec.backup): pgBackRest archives the
primary's WAL continuously (every member's archive_command, so it follows failovers)
and keeps full, differential and incremental base backups, encrypted with the
passphrase of spec.backup.cipherPassFrom.

The commands run pgBackRest on this machine for the members hadron runs here (a
dataDir): run it where the set's primary is.`,
	}
	pf := cmd.PersistentFlags()
	o.Flags(pf)
	cmd.AddCommand(statusCommand(o), runCommand(o), listCommand(o), restoreCommand(o))
	return cmd
}

// open is the set's driver, refused before any password is read when the set has no
// spec.backup.
func (o *options) open(ctx context.Context, set string) (*postgres.Driver, error) {
	f, err := o.Load(set)
	if err != nil {
		return nil, err
	}
	if f.MirrorSet(set).Spec.Backup == nil {
		return nil, fmt.Errorf("mirror set %s: %w: add spec.backup to the fleet", set, postgres.ErrNoBackups)
	}
	return postgres.FromFleet(ctx, f, set, o.Region, o.Logger())
}

// Status is backup status's document.
type Status struct {
	MirrorSet string                  `json:"mirrorSet"`
	Archive   *postgres.ArchiveStatus `json:"archive"`
	Latest    *pgbackrest.Backup      `json:"latestBackup,omitempty"`
	Backups   int                     `json:"backups"`
	Repo      pgbackrest.Status       `json:"repository"`
	// RepoError says why the repository could not be read (the backups are then
	// unknown; the archive's state above is still the primary's).
	RepoError string `json:"repositoryError,omitempty"`
}

func statusCommand(o *options) *cobra.Command {
	var (
		output  cli.Output
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status SET [-o FORMAT]",
		Short: "Show the archive lag of the primary and the newest backup",
		Long: `Show the primary's WAL archiving — the bytes written that are not in the archive
yet, the segments waiting for archive_command, the last archived file, failures —
and the repository's newest backup.

-o json|yaml prints a document of kind BackupStatus.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.open(ctx, args[0])
			if err != nil {
				return err
			}
			a, err := d.ArchiveStatus(ctx)
			if err != nil {
				return err
			}
			// The archive's state comes from the primary; the repository may be
			// unreachable from the primary's machine (the very case the lag shows), so
			// its read gets half the time and its failure is reported, not fatal.
			rctx, rcancel := context.WithTimeout(ctx, timeout/2)
			info, err := d.Backups(rctx, a.Primary)
			rcancel()
			st := Status{MirrorSet: args[0], Archive: a}
			if err != nil {
				st.RepoError = fmt.Sprintf("reading the repository as %s does: %v", a.Primary, err)
			} else {
				st.Backups, st.Repo = len(info.Backups), info.Status
				if b, ok := info.Latest(); ok {
					st.Latest = &b
				}
			}
			return output.Print(cmd.OutOrStdout(), StatusKind, st, func(w io.Writer) error { return renderStatus(w, st) })
		},
	}
	cli.OutputFlag(cmd.Flags(), &output)
	cli.TimeoutFlag(cmd.Flags(), &timeout, 30*time.Second, "")
	return cmd
}

func renderStatus(w io.Writer, st Status) error {
	a := st.Archive
	fmt.Fprintf(w, "primary %s at %s: archive lag %d bytes, %d segments waiting\n", a.Primary, a.Current, a.Lag, a.Waiting)
	if !a.OldestWaitingSince.IsZero() {
		fmt.Fprintf(w, "oldest waiting since %s (%s)\n", a.OldestWaitingSince.UTC().Format(time.RFC3339), time.Since(a.OldestWaitingSince).Round(time.Second))
	}
	if a.LastArchived != "" {
		fmt.Fprintf(w, "last archived %s at %s\n", a.LastArchived, a.ArchivedAt.UTC().Format(time.RFC3339))
	}
	if a.FailedCount > 0 {
		fmt.Fprintf(w, "archive_command failed %d times, last on %s at %s\n", a.FailedCount, a.LastFailed, a.FailedAt.UTC().Format(time.RFC3339))
	}
	if st.RepoError != "" {
		fmt.Fprintf(w, "repository unreadable: %s\n", st.RepoError)
		return nil
	}
	if st.Latest == nil {
		fmt.Fprintf(w, "no backup (%s)\n", st.Repo.Message)
		return nil
	}
	fmt.Fprintf(w, "%d backups; newest %s (%s) finished %s\n", st.Backups, st.Latest.Label, st.Latest.Type, st.Latest.Stop.Format(time.RFC3339))
	return nil
}

// Run is backup run's document.
type Run struct {
	MirrorSet string            `json:"mirrorSet"`
	Type      string            `json:"type"`
	Backup    pgbackrest.Backup `json:"backup"`
	Took      time.Duration     `json:"took"`
}

func runCommand(o *options) *cobra.Command {
	var (
		output  cli.Output
		timeout time.Duration
		typ     string
	)
	cmd := &cobra.Command{
		Use:   "run SET [--type full|diff|incr] [-o FORMAT]",
		Short: "Take a backup from the current primary",
		Long: `Take a base backup from the current primary (the stanza is created the first
time). An incremental or differential backup with no full one before it is taken
as a full one. Backups beyond spec.backup.retention.full full ones expire.

-o json|yaml prints a document of kind BackupRun.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			bt := pgbackrest.BackupType(typ)
			switch bt {
			case pgbackrest.Full, pgbackrest.Diff, pgbackrest.Incr:
			default:
				return cli.Usagef("--type %q: want full, diff or incr", typ)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.open(ctx, args[0])
			if err != nil {
				return err
			}
			start := time.Now()
			info, err := d.Backup(ctx, bt, timeout)
			if err != nil {
				return err
			}
			b, _ := info.Latest()
			r := Run{MirrorSet: args[0], Type: typ, Backup: b, Took: time.Since(start).Round(time.Millisecond)}
			return output.Print(cmd.OutOrStdout(), RunKind, r, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "backup %s (%s) of %s: %d bytes, %d in the repository, in %s\n", b.Label, b.Type, args[0], b.Size, b.RepoSize, r.Took)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&typ, "type", "incr", "full, diff or incr")
	cli.OutputFlag(cmd.Flags(), &output)
	cli.TimeoutFlag(cmd.Flags(), &timeout, time.Hour, "")
	return cmd
}

func listCommand(o *options) *cobra.Command {
	var (
		output  cli.Output
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list SET [-o FORMAT]",
		Short: "List the repository's backups and archived WAL",
		Long: `List the backups in the set's repository, oldest first, and the range of WAL
archived.

-o json|yaml prints a document of kind BackupList.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.open(ctx, args[0])
			if err != nil {
				return err
			}
			member, err := d.LocalMember()
			if err != nil {
				return err
			}
			info, err := d.Backups(ctx, member)
			if err != nil {
				return err
			}
			return output.Print(cmd.OutOrStdout(), ListKind, info, func(w io.Writer) error { return renderList(w, info) })
		},
	}
	cli.OutputFlag(cmd.Flags(), &output)
	cli.TimeoutFlag(cmd.Flags(), &timeout, time.Minute, "")
	return cmd
}

func renderList(w io.Writer, info *pgbackrest.StanzaInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tTYPE\tSTARTED\tTOOK\tSIZE\tIN REPO\tWAL")
	for _, b := range info.Backups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s..%s\n", b.Label, b.Type, b.Start.Format(time.RFC3339), b.Stop.Sub(b.Start), b.Size, b.RepoSize, b.WALStart, b.WALStop)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range info.Archives {
		fmt.Fprintf(w, "archive %s: %s..%s\n", a.ID, a.Min, a.Max)
	}
	if len(info.Backups) == 0 {
		fmt.Fprintf(w, "no backups (%s)\n", info.Status.Message)
	}
	return nil
}
