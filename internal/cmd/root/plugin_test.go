package root

import (
	"bytes"
	"strings"
	"testing"
)

func TestAsPlugin(t *testing.T) {
	for _, tc := range []struct {
		argv0, want string
	}{
		{"/usr/local/bin/kubectl-hadron", "kubectl hadron status"},
		{"/usr/local/bin/hadron", "hadron status"},
	} {
		cmd := New()
		AsPlugin(cmd, tc.argv0)
		status, _, err := cmd.Find([]string{"status"})
		if err != nil {
			t.Fatal(err)
		}
		if got := status.CommandPath(); got != tc.want {
			t.Errorf("%s: command path %q, want %q", tc.argv0, got, tc.want)
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs([]string{"status", "--help"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: help does not say %q:\n%s", tc.argv0, tc.want, out.String())
		}
	}
}
