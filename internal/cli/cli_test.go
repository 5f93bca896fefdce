package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		args    []string
		code    int
		printed string
	}{
		{"success", nil, nil, 0, ""},
		{"plain error", errors.New("boom"), nil, 1, "prog: boom\n"},
		{"exit code with message", Exit(2, errors.New("unreadable")), nil, 2, "prog: unreadable\n"},
		{"silent exit code", &ExitError{Code: 3}, nil, 3, ""},
		{"wrapped exit code", errors.Join(Exit(4, errors.New("x"))), nil, 4, "prog: x\n"},
		{"usage error", Usagef("--to is required"), nil, 2, "prog: --to is required\nRun 'prog do --help' for usage.\n"},
		{"unknown flag", nil, []string{"--bogus"}, 2, "prog: unknown flag: --bogus\nRun 'prog do --help' for usage.\n"},
		{"bad output format", nil, []string{"-o", "bogus"}, 2,
			"prog: invalid argument \"bogus\" for \"-o, --output\" flag: want text, json, yaml or jsonpath=TEMPLATE\nRun 'prog do --help' for usage.\n"},
		{"too many arguments", nil, []string{"x"}, 2, "prog: unknown command \"x\" for \"prog do\"\nRun 'prog do --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := func() *cobra.Command {
				var o Output
				c := &cobra.Command{Use: "do", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return tt.err }}
				OutputFlag(c.Flags(), &o)
				return c
			}
			root := NewRoot("prog", "test", []func() *cobra.Command{sub})
			root.SetArgs(append([]string{"do"}, tt.args...))
			var stderr bytes.Buffer
			root.SetErr(&stderr)
			if got := Run(root, &stderr); got != tt.code {
				t.Errorf("code = %d, want %d", got, tt.code)
			}
			if stderr.String() != tt.printed {
				t.Errorf("printed %q, want %q", stderr.String(), tt.printed)
			}
		})
	}
}

// A command that only groups others names the subcommand it does not have (exit 2)
// instead of printing its help and succeeding.
func TestGroupUnknownSubcommand(t *testing.T) {
	sub := func() *cobra.Command {
		g := &cobra.Command{Use: "group"}
		g.AddCommand(&cobra.Command{Use: "one", RunE: func(*cobra.Command, []string) error { return nil }})
		return g
	}
	root := NewRoot("prog", "test", []func() *cobra.Command{sub})
	var out, stderr bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"group", "two"})
	if got := Run(root, &stderr); got != ExitUsage {
		t.Errorf("code = %d, want 2; stderr %q", got, stderr.String())
	}
	root.SetArgs([]string{"group"})
	stderr.Reset()
	if got := Run(root, &stderr); got != 0 || !bytes.Contains(out.Bytes(), []byte("Available Commands")) {
		t.Errorf("group alone: code %d, stdout %q, stderr %q", got, out.String(), stderr.String())
	}
}

func TestWithoutName(t *testing.T) {
	for _, tc := range [][3]string{
		{"east-0", "east-0: connection refused", "connection refused"},
		{"east-0", "east-1: connection refused", "east-1: connection refused"},
		{"east-0", "connection refused", "connection refused"},
	} {
		if got := WithoutName(tc[0], tc[1]); got != tc[2] {
			t.Errorf("WithoutName(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
