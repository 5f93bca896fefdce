package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// UsageError is a command line that cannot be run: a missing or unknown flag,
// argument or format. It exits 2, and is checked before anything is read or asked.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// failure is an error a command's RunE returned: the operation failed (exit 1). Errors
// that did not come from a RunE came from cobra parsing the command line.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// prepared marks a command tree that Prepare has seen.
const prepared = "hadron.dev/cli-prepared"

// Prepare readies a command tree for Run: each RunE's errors are marked as the
// operation's (exit 1) so that every other error is cobra's about the command line
// (exit 2); a flag's environment variable that cannot be parsed is a usage error; a
// group of commands given an unknown subcommand says so instead of printing its help;
// -o completes its formats.
// Preparing a tree twice changes nothing.
func Prepare(root *cobra.Command) {
	if root.Annotations[prepared] != "" {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[prepared] = "yes"
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.RunE != nil:
			c.RunE = marked(c.RunE)
		case c.Run == nil && c.HasSubCommands() && c.HasParent(): // cobra checks the root's
			c.RunE = group
		}
		if f := c.Flags().Lookup("output"); f != nil {
			if _, ok := f.Value.(*Output); ok {
				if _, has := c.GetFlagCompletionFunc("output"); !has {
					_ = c.RegisterFlagCompletionFunc("output", completeOutput)
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// marked runs a RunE after the flags' environment checks and marks its errors.
func marked(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := envErrors(cmd.Flags()); err != nil {
			return err
		}
		err := run(cmd, args)
		var ee *ExitError
		var ue *UsageError
		if err == nil || errors.As(err, &ee) || errors.As(err, &ue) {
			return err
		}
		return &failure{err: err}
	}
}

// group is the RunE of a command that only groups others: its help, or a usage error
// for a subcommand it does not have.
func group(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return Usagef("unknown command %q for %q (want %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
}

// envError is the annotation of a flag whose environment variable could not be parsed.
const envError = "hadron.dev/env-error"

// envErrors is the first flag whose default came from an unparsable environment
// variable, unless the flag was given.
func envErrors(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if msg := f.Annotations[envError]; err == nil && len(msg) > 0 && !f.Changed {
			err = Usagef("%s", msg[0])
		}
	})
	return err
}
