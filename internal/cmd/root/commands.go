package root

import (
	"github.com/spf13/cobra"

	backupcmd "hadron.dev/hadron/internal/cmd/backup"
	checkcmd "hadron.dev/hadron/internal/cmd/check"
	datacmd "hadron.dev/hadron/internal/cmd/data"
	"hadron.dev/hadron/internal/cmd/dns"
	"hadron.dev/hadron/internal/cmd/fleetcmd"
	"hadron.dev/hadron/internal/cmd/lab"
	pkicmd "hadron.dev/hadron/internal/cmd/pki"
	plancmd "hadron.dev/hadron/internal/cmd/plan"
	replicatecmd "hadron.dev/hadron/internal/cmd/replicate"
	runbookcmd "hadron.dev/hadron/internal/cmd/runbook"
	servecmd "hadron.dev/hadron/internal/cmd/serve"
	statuscmd "hadron.dev/hadron/internal/cmd/status"
	tokencmd "hadron.dev/hadron/internal/cmd/token"
	"hadron.dev/hadron/internal/cmd/validate"
)

// Each line wires one role's command; keep one line per role to avoid merge churn.
func init() {
	subcommands = append(subcommands,
		func() *cobra.Command { return versionCommand() },
		lab.Command,
		dns.Command,
		validate.Command,
		plancmd.Command,
		datacmd.Command,
		checkcmd.Command,
		replicatecmd.Command,
		servecmd.Command, statuscmd.Command,
		pkicmd.Command,
		runbookcmd.Switchover, runbookcmd.Failover, runbookcmd.Failback, runbookcmd.History, runbookcmd.Drill,
		tokencmd.Command,
		backupcmd.Command,
		fleetcmd.Command,
	)
}
