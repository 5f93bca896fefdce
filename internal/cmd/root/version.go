package root

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
	_ "hadron.dev/hadron/api/v1alpha1"
)

// Version is set at build time with -ldflags "-X hadron.dev/hadron/internal/cmd/root.Version=...".
var Version = "dev"

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hadron's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := Version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "hadron", v)
			return err
		},
	}
}
