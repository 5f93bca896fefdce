// Package cli is what hadron's two binaries (hadron and hadron-lab) share about running
// a cobra command tree: exit codes carried through cobra, and one place that prints the
// final error.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitError carries a process exit code through cobra. Err is printed once by Run;
// a nil Err means the command has already said what went wrong.
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

// Exit returns an error that makes the process exit with code after printing err.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// NewRoot returns a root command that prints neither usage nor errors by itself (Run
// prints the error once), with the given subcommands.
func NewRoot(use, short string, subcommands []func() *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, SilenceUsage: true, SilenceErrors: true}
	for _, add := range subcommands {
		cmd.AddCommand(add())
	}
	return cmd
}

// Run executes cmd and returns the process exit code: 0, an ExitError's code, or 1,
// printing the error to stderr prefixed with the program's name.
func Run(cmd *cobra.Command, stderr io.Writer) int {
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd.Name(), ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.Name(), err)
	return 1
}
