package labroot

import (
	"github.com/spf13/cobra"

	"hadron.dev/hadron/lab/internal/cmd/image"
	"hadron.dev/hadron/lab/internal/cmd/labworld"
	"hadron.dev/hadron/lab/internal/cmd/objectstore"
	"hadron.dev/hadron/lab/internal/cmd/site"
	"hadron.dev/hadron/lab/internal/controlplane/roles"
)

// Each line wires one command; keep one line per command to avoid merge churn.
func init() {
	subcommands = append(subcommands,
		site.Command,
		labworld.UpCommand,
		labworld.DownCommand,
		labworld.StatusCommand,
		labworld.LinkCommand,
		labworld.FailCommand,
		labworld.DrainCommand,
		labworld.ChaosCommand,
		labworld.RestoreCommand,
		labworld.ApplyCommand,
		labworld.ObjectsCommand,
		labworld.SuperviseCommand,
		objectstore.Command,
		image.Command,
	)
	for _, c := range roles.Commands() {
		subcommands = append(subcommands, func() *cobra.Command { return c })
	}
}
