// Package cli is the grammar hadron's two binaries (hadron and hadron-lab) share: the
// exit codes (0 success, 1 the operation failed or found a problem, 2 a usage error),
// the flags every command spells alike (-f/--file, --pki, --region, --timeout,
// --request-timeout, -o/--output), the documents -o json|yaml|jsonpath prints, and one
// place that prints the final error.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes of every command.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the operation failed, or found a problem (a check, a validation)
	ExitUsage  = 2 // the command line is wrong: unknown flag or format, missing argument
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
// prints the error once), with the given subcommands, prepared (see Prepare).
func NewRoot(use, short string, subcommands []func() *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, SilenceUsage: true, SilenceErrors: true}
	for _, add := range subcommands {
		cmd.AddCommand(add())
	}
	Prepare(cmd)
	return cmd
}

// Run executes cmd and returns the process exit code (Code), printing the error to
// stderr prefixed with the program's name; a usage error also says where the usage is
// (an ExitError does not: its command has chosen the code).
func Run(cmd *cobra.Command, stderr io.Writer) int {
	Prepare(cmd)
	failed, err := cmd.ExecuteC()
	return Report(stderr, cmd.Name(), failed, err)
}

// Report prints err as Run does and returns its exit code.
func Report(stderr io.Writer, program string, failed *cobra.Command, err error) int {
	code := Code(err)
	if err == nil {
		return code
	}
	var ee *ExitError
	isExit := errors.As(err, &ee)
	if isExit && ee.Err == nil {
		return code // the command has said what went wrong
	}
	fmt.Fprintf(stderr, "%s: %v\n", program, err)
	if code == ExitUsage && !isExit && failed != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", failed.CommandPath())
	}
	return code
}

// Code is the exit code for the error a prepared command returned: 0 for none, an
// ExitError's code, 2 for a usage error (cobra's own errors about flags, arguments and
// commands, and UsageError), 1 for any other error of a command's RunE.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var f *failure
	if errors.As(err, &f) {
		return ExitFailed
	}
	return ExitUsage
}
