// Package root wires hadron's subcommands together; each role lives in its own package
// under internal/cmd.
package root

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
)

// ExitError carries a process exit code through cobra without printing usage.
type ExitError = cli.ExitError

// New returns the hadron command tree.
func New() *cobra.Command {
	cmd := cli.NewRoot("hadron", "High availability and disaster recovery for Kubernetes applications across regions", subcommands)
	cmd.Long = cmd.Short + `.

Every command speaks one grammar (docs/cli.md):
  -f, --file PATH       the fleet ($HADRON_FLEET, else fleet.yaml)
  --pki DIR             the daemons' CA and API token ($HADRON_PKI, else hadron-pki)
  --region REGION       where this command runs ($HADRON_REGION)
  --request-timeout D   each daemon's answer ($HADRON_REQUEST_TIMEOUT, else 5s)
  --timeout D           how long the command may take
  -o, --output FORMAT   text, json, yaml or jsonpath=TEMPLATE: documents with apiVersion
                        hadron.dev/v1alpha1 and a kind
  --dry-run             what a command that changes something would do now

Exit status: 0 success; 1 the operation failed or found a problem; 2 a usage error,
found before anything is read or asked.`
	return cmd
}

// subcommands lists the constructors of the top-level subcommands; each role's package
// appends itself in commands.go so that wiring a role is a one-line change.
var subcommands []func() *cobra.Command

// PluginName is the executable kubectl runs for `kubectl hadron`: kubectl treats any
// kubectl-<name> on PATH as a plugin, so the plugin is this binary under a second
// name (a link; `make build` makes one) and needs no code of its own.
const PluginName = "kubectl-hadron"

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	cmd := New()
	AsPlugin(cmd, os.Args[0])
	return cli.Run(cmd, os.Stderr)
}

// AsPlugin makes usage and help say "kubectl hadron" when the binary was run as
// kubectl's plugin (argv0 is PluginName), so that what they print can be typed.
func AsPlugin(cmd *cobra.Command, argv0 string) {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") != PluginName {
		return
	}
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[cobra.CommandDisplayNameAnnotation] = "kubectl hadron"
}
