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
		code    int
		printed string
	}{
		{"success", nil, 0, ""},
		{"plain error", errors.New("boom"), 1, "prog: boom\n"},
		{"exit code with message", Exit(2, errors.New("unreadable")), 2, "prog: unreadable\n"},
		{"silent exit code", &ExitError{Code: 3}, 3, ""},
		{"wrapped exit code", errors.Join(Exit(4, errors.New("x"))), 4, "prog: x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := func() *cobra.Command {
				return &cobra.Command{Use: "do", RunE: func(*cobra.Command, []string) error { return tt.err }}
			}
			root := NewRoot("prog", "test", []func() *cobra.Command{sub})
			root.SetArgs([]string{"do"})
			var stderr bytes.Buffer
			if got := Run(root, &stderr); got != tt.code {
				t.Errorf("code = %d, want %d", got, tt.code)
			}
			if stderr.String() != tt.printed {
				t.Errorf("printed %q, want %q", stderr.String(), tt.printed)
			}
		})
	}
}
