// Package data wires `hadron data ...`: status, verify, promote, rejoin, bootstrap,
// monitor and release of a fleet's mirror sets.
package data

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cmd/setcmd"
)

// options are the flags every data subcommand shares.
type options struct{ setcmd.Options }

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
	o.Flags(pf)
	cli.Alias(pf, "fleet", "file")
	cmd.AddCommand(statusCommand(o), verifyCommand(o), promoteCommand(o), rejoinCommand(o), bootstrapCommand(o), monitorCommand(o), releaseCommand(o), memberStartCommand(o))
	return cmd
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
