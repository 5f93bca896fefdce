package root

import (
	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cmd/dns"
	"hadron.dev/hadron/internal/cmd/lab"
)

// Each line wires one role's command; keep one line per role to avoid merge churn.
func init() {
	subcommands = append(subcommands,
		func() *cobra.Command { return versionCommand() },
		lab.Command,
		dns.Command,
	)
}
