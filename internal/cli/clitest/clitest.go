// Package clitest runs a command tree in-process for tests, the way cli.Run would run
// it as a process: stdout, stderr and the exit code.
package clitest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
)

// Run executes cmd with args and returns stdout, stderr (with the error an ExitError
// carries, as the process would print it) and the exit code. An error that is not an
// ExitError fails the test: commands must say how they exit.
func Run(t testing.TB, cmd *cobra.Command, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	code := 0
	if err := cmd.Execute(); err != nil {
		var ee *cli.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %s: %v (not an ExitError)", cmd.Name(), strings.Join(args, " "), err)
		}
		code = ee.Code
		if ee.Err != nil {
			errOut.WriteString(ee.Err.Error() + "\n")
		}
	}
	return out.String(), errOut.String(), code
}
