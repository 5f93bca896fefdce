// Package root wires hadron's subcommands together; each role lives in its own package
// under internal/cmd.
package root

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cmd/lab"
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

// New returns the hadron command tree.
func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "hadron",
		Short:         "High availability and disaster recovery for Kubernetes applications across regions",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, add := range subcommands {
		cmd.AddCommand(add())
	}
	return cmd
}

// subcommands lists the constructors of the top-level subcommands; each role's package
// appends itself in commands.go so that wiring a role is a one-line change.
var subcommands []func() *cobra.Command

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	err := New().Execute()
	if err == nil {
		return 0
	}
	var code lab.ExitCode
	if errors.As(err, &code) {
		return int(code) // hadron-lab printed its own error
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(os.Stderr, "hadron:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(os.Stderr, "hadron:", err)
	return 1
}
