// Package data wires `hadron data ...`: status, verify, promote, rejoin, bootstrap,
// monitor and release of a fleet's mirror sets.
package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// options are the flags every data subcommand shares.
type options struct {
	fleetPath string
	region    string
	verbose   bool
}

// Command returns `hadron data`.
func Command() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "data",
		SilenceUsage:  true,
		SilenceErrors: true,
		Short:         "Replicated PostgreSQL databases: status, verify, promote, rejoin, bootstrap, monitor, release",
		Long: `Operate a fleet's mirror sets: a PostgreSQL primary, an in-region synchronous
failover member and asynchronous DR members in other regions.

The password comes from the mirror set's credentials.passwordFrom: a file, an
environment variable, or a key of a Kubernetes Secret read from the named site's
cluster (through that site's kubeconfig context) when the command starts. The mirror
set and member names are checked against the fleet before the password is read.`,
	}
	pf := cmd.PersistentFlags()
	cli.FileFlag(pf, &o.fleetPath)
	cli.Alias(pf, "fleet", "file")
	cli.RegionFlag(pf, &o.region)
	pf.BoolVarP(&o.verbose, "verbose", "v", false, "log what the driver does to stderr")
	cmd.AddCommand(statusCommand(o), verifyCommand(o), promoteCommand(o), rejoinCommand(o), bootstrapCommand(o), monitorCommand(o), releaseCommand(o))
	return cmd
}

func (o *options) logger() *slog.Logger {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// load loads the fleet and checks that it has the mirror set and its members: a name
// it does not have is a usage error, found before any password is read.
func (o *options) load(set string, members ...string) (*fleet.Fleet, error) {
	f, err := cli.LoadFleet(o.fleetPath)
	if err != nil {
		return nil, err
	}
	ms := f.MirrorSet(set)
	if ms == nil {
		return nil, cli.Usagef("no mirror set %q in %s (it has %s)", set, o.fleetPath, names(cli.MirrorSetNames(f)))
	}
	for _, m := range members {
		known := cli.MemberNames(f, set)
		found := false
		for _, k := range known {
			found = found || k == m
		}
		if !found {
			return nil, cli.Usagef("no member %q in mirror set %s (it has %s)", m, set, names(known))
		}
	}
	return f, nil
}

// open loads the fleet, checks the names and returns the driver of the named set.
func (o *options) open(ctx context.Context, set string, members ...string) (*postgres.Driver, error) {
	f, err := o.load(set, members...)
	if err != nil {
		return nil, err
	}
	return postgres.FromFleet(ctx, f, set, o.region, o.logger())
}

func names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

// errVerify is returned when a member did not show the marker; the report was printed.
var errVerify = errors.New("verify failed: not every member showed the marker")

// withoutName is a member's error message without the member's name in front: the
// driver's errors name the member, and the CLI prints the name beside them.
func withoutName(member, msg string) string { return cli.WithoutName(member, msg) }

// noPrimary is data status's outcome when no member accepts writes (exit 1): the text
// report has said so; a document leaves it to the error.
func noPrimary(set string, text bool) error {
	if text {
		return &cli.ExitError{Code: cli.ExitFailed}
	}
	return fmt.Errorf("mirror set %s: no member accepts writes", set)
}
