// Package clitest runs a command tree in-process for tests, the way cli.Run would run
// it as a process: stdout, stderr and the exit code.
package clitest

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
)

// Run prepares cmd (cli.Prepare), executes it with args and returns stdout, stderr
// (with the final error as the process would print it) and the exit code.
func Run(t testing.TB, cmd *cobra.Command, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cli.Prepare(cmd)
	failed, err := cmd.ExecuteC()
	code := cli.Report(&errOut, cmd.Root().Name(), failed, err)
	return out.String(), errOut.String(), code
}
