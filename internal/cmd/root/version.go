package root

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
	_ "hadron.dev/hadron/api/v1alpha1"
)

// Version and Commit are set at build time by make (-ldflags "-X
// hadron.dev/hadron/internal/cmd/root.Version=... -X ...Commit=..."). A plain `go build`
// leaves them empty and the build's own VCS stamp is used instead.
var (
	Version = "dev"
	Commit  = ""
)

// versionInfo is what `hadron version` prints: the version and the commit, from the
// linker flags or else from the VCS stamp Go writes into a build from a checkout.
func versionInfo(bi *debug.BuildInfo) (version, commit string) {
	version, commit = Version, Commit
	if bi == nil {
		return version, commit
	}
	if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	if commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return version, commit
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hadron's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			v, c := versionInfo(bi)
			if c == "" {
				c = "unknown"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "hadron %s (commit %s)\n", v, c)
			return err
		},
	}
}
