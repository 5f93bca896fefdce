package root

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	_ "hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/cli"
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

// VersionKind is the kind of `hadron version`'s document (-o json|yaml).
const VersionKind = "Version"

// versionDoc is `hadron version`'s document.
type versionDoc struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func versionCommand() *cobra.Command {
	var output cli.Output
	cmd := &cobra.Command{
		Use:   "version [-o FORMAT]",
		Short: "Print hadron's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			v, c := versionInfo(bi)
			if c == "" {
				c = "unknown"
			}
			doc := versionDoc{Version: v, Commit: c, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			return output.Print(cmd.OutOrStdout(), VersionKind, doc, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "hadron %s (commit %s)\n", v, c)
				return err
			})
		},
	}
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
