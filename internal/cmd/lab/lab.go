// Package lab wires `hadron lab ...` to the hadron-lab binary, which lives in its own
// Go module because it embeds the Kubernetes control plane.
package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
)

// EnvBinary overrides where hadron-lab is found.
const EnvBinary = "HADRON_LAB_BINARY"

// ErrNoBinary says hadron-lab could not be found.
var ErrNoBinary = errors.New("hadron-lab not found")

// Binary finds hadron-lab: $HADRON_LAB_BINARY, beside this executable, then on PATH.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "hadron-lab")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("hadron-lab"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w beside this hadron or on PATH: build it with `make hadron-lab` (it lives in the lab/ module)", ErrNoBinary)
}

// Command is `hadron lab ...`: every argument goes to hadron-lab unchanged. Its help
// is its own when hadron-lab is missing, saying how to build it.
func Command() *cobra.Command {
	return &cobra.Command{
		Use:   "lab up|down|status|apply|link|fail|restore ...",
		Short: "Run a multi-region lab on this machine (real control planes, links, databases)",
		Long: `hadron lab runs a whole multi-region world on one machine: per site a real
Kubernetes control plane with simulated nodes in three zones, PostgreSQL members, the
demo application behind a load-balancer address, and cross-region links with latency
that can be cut.

  hadron lab up [--config lab.yaml] [--daemons=false] [--dns hadron|bind|external-dns]
                                                        start the lab
  hadron lab status [-o text|json|yaml]                  sites, control planes, nodes, links, databases, files
  hadron lab apply --site SITE -f PATH [--dry-run]       server-side apply manifests to a site
  hadron lab link cut|heal|latency SITE-A SITE-B [MS] [--dry-run]
  hadron lab fail|restore node|zone|site|daemon NAME [--dry-run]
  hadron lab fail process NAME [--delay 5s]              SIGKILL a member, daemon or demo; restarted after the delay
  hadron lab drain node NAME [--timeout 2m]              cordon and evict (PodDisruptionBudgets honoured)
  hadron lab link cut SITE-A SITE-B --one-way            SITE-A cannot reach SITE-B
  hadron lab chaos --duration D --seed S [--faults K,...] [--dry-run] [-o text|json|yaml]
                                                        random faults under load, checked against the invariants
  hadron lab down [--keep]                               stop everything

The commands run in hadron-lab, a separate binary (it embeds the Kubernetes control
plane): found through $` + EnvBinary + `, beside this hadron, or on PATH. Build it with
'make hadron-lab' (or 'cd lab && go build -o ../bin/hadron-lab ./cmd/hadron-lab').
'hadron lab help COMMAND' shows a command's flags.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			bin, err := Binary()
			if err != nil {
				if helpOnly(args) {
					return cmd.Help()
				}
				return err
			}
			if len(args) == 0 {
				args = []string{"--help"}
			}
			c := exec.CommandContext(cmd.Context(), bin, args...)
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := c.Run(); err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					// hadron-lab has printed its own error.
					return &cli.ExitError{Code: ee.ExitCode()}
				}
				return fmt.Errorf("run %s: %w", bin, err)
			}
			return nil
		},
	}
}

// helpOnly says whether args ask for help only (none, -h, --help, help), which hadron
// answers itself when hadron-lab is missing.
func helpOnly(args []string) bool {
	if len(args) == 0 {
		return true
	}
	switch args[0] {
	case "-h", "--help", "help":
		return true
	}
	return false
}
