// Package root wires hadron's subcommands together; each role lives in its own package
// under internal/cmd.
package root

import (
	"os"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
)

// ExitError carries a process exit code through cobra without printing usage.
type ExitError = cli.ExitError

// New returns the hadron command tree.
func New() *cobra.Command {
	return cli.NewRoot("hadron", "High availability and disaster recovery for Kubernetes applications across regions", subcommands)
}

// subcommands lists the constructors of the top-level subcommands; each role's package
// appends itself in commands.go so that wiring a role is a one-line change.
var subcommands []func() *cobra.Command

// Execute runs the CLI and returns the process exit code.
func Execute() int { return cli.Run(New(), os.Stderr) }
