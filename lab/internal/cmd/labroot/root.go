// Package labroot wires hadron-lab's subcommands together; each role lives in its own
// package under lab/internal/cmd and adds itself with one line in commands.go.
package labroot

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/cli"
)

// ExitError carries a process exit code through cobra without printing usage.
type ExitError = cli.ExitError

// subcommands lists the constructors of the top-level subcommands (see commands.go).
var subcommands []func() *cobra.Command

// New returns the hadron-lab command tree.
func New() *cobra.Command {
	cmd := cli.NewRoot("hadron-lab", "A multi-region Kubernetes lab on one machine, for hadron's demo and tests", subcommands)
	// The Kubernetes components linked in register a global --version flag (for their
	// own commands); cobra would show it on every hadron-lab command.
	if f := pflag.CommandLine.Lookup("version"); f != nil {
		f.Hidden = true
	}
	return cmd
}

// Execute runs hadron-lab and returns the process exit code.
func Execute() int { return cli.Run(New(), os.Stderr) }
