// Package labroot wires hadron-lab's subcommands together; each role lives in its own
// package under lab/internal/cmd and adds itself with one line in commands.go.
package labroot

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ExitError carries a process exit code through cobra without printing usage.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// subcommands lists the constructors of the top-level subcommands (see commands.go).
var subcommands []func() *cobra.Command

// New returns the hadron-lab command tree.
func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "hadron-lab",
		Short:         "A multi-region Kubernetes lab on one machine, for hadron's demo and tests",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, add := range subcommands {
		cmd.AddCommand(add())
	}
	// The Kubernetes components linked in register a global --version flag (for their
	// own commands); cobra would show it on every hadron-lab command.
	if f := pflag.CommandLine.Lookup("version"); f != nil {
		f.Hidden = true
	}
	return cmd
}

// Execute runs hadron-lab and returns the process exit code.
func Execute() int {
	err := New().Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(os.Stderr, "hadron-lab:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(os.Stderr, "hadron-lab:", err)
	return 1
}
