// Package data wires `hadron data ...`: status, verify, promote, rejoin, bootstrap and
// monitor of a fleet's mirror sets.
package data

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// options are the flags every data subcommand shares.
type options struct {
	fleetPath string
	region    string
	output    string
	verbose   bool
}

// Command returns `hadron data`.
func Command() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "data",
		SilenceUsage:  true,
		SilenceErrors: true,
		Short:         "Replicated databases: status, verify, promote, rejoin, bootstrap, monitor",
		Long: `Operate a fleet's mirror sets: a primary, an in-region synchronous failover member
and asynchronous DR members in other regions (PostgreSQL).

The password comes from the mirror set's credentials.passwordFrom: a file, an
environment variable, or a key of a Kubernetes Secret read from the named site's
cluster (through that site's kubeconfig context) when the command starts.`,
	}
	cmd.PersistentFlags().StringVarP(&o.fleetPath, "fleet", "f", fleet.DefaultPath(), "fleet file or directory")
	cmd.PersistentFlags().StringVar(&o.region, "region", "", "region this command runs in; picks each member's address as seen from there (default: each member's own address)")
	cmd.PersistentFlags().BoolVarP(&o.verbose, "verbose", "v", false, "log what the driver does to stderr")
	cmd.AddCommand(statusCommand(o), verifyCommand(o), promoteCommand(o), rejoinCommand(o), bootstrapCommand(o), monitorCommand(o))
	return cmd
}

func (o *options) logger() *slog.Logger {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// open loads the fleet and returns the driver of the named set.
func (o *options) open(ctx context.Context, name string) (*postgres.Driver, error) {
	f, err := fleet.Load(o.fleetPath)
	if err != nil {
		return nil, err
	}
	return postgres.FromFleet(ctx, f, name, o.region, o.logger())
}

// errVerify is returned when a member did not show the marker; the report was printed.
var errVerify = errors.New("verify failed: not every member showed the marker")
