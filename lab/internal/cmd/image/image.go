// Package image is `hadron-lab image build`: hadron's own container image (make
// images), built without a registry or a container engine by the code that builds the
// lab's images (realnode.BuildImage), into a docker-archive tarball that `ctr images
// import` and `docker load` read.
package image

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/lab/internal/realnode"
)

// Command returns `hadron-lab image`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build hadron's container image without a registry",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(buildCommand())
	return cmd
}

func buildCommand() *cobra.Command {
	var (
		r     realnode.HadronRelease
		epoch string
		out   string
	)
	cmd := &cobra.Command{
		Use:   "build --binary FILE --version V --commit C --out FILE.tar",
		Short: "Write hadron's image (" + realnode.HadronRepository + ":VERSION) as a docker-archive tarball",
		Long: `build writes the image ` + realnode.HadronRepository + `:VERSION: the hadron binary as
/usr/local/bin/hadron (its entrypoint), the host's CA bundle, /etc/passwd and /etc/group
with the nonroot user 65532, run as 65532:65532, with the OCI labels version, revision,
source and title. Every file and the config carry --source-date-epoch (the commit's
time), so the same binary gives the same image digest on every build. Load it with
` + "`ctr images import FILE`" + ` or ` + "`docker load -i FILE`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if epoch != "" {
				s, err := strconv.ParseInt(epoch, 10, 64)
				if err != nil {
					return fmt.Errorf("--source-date-epoch %q: seconds since 1970: %w", epoch, err)
				}
				r.Created = time.Unix(s, 0).UTC()
			}
			spec, err := realnode.HadronSpec(r)
			if err != nil {
				return err
			}
			if err := realnode.BuildImage(cmd.Context(), spec, out); err != nil {
				return err
			}
			digest, err := realnode.ImageDigest(out, spec.Ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s\n", spec.Ref, digest, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.Binary, "binary", "", "the hadron executable (CGO_ENABLED=0 gives an image without C libraries)")
	f.StringVar(&r.Version, "version", "", "the image's tag and org.opencontainers.image.version")
	f.StringVar(&r.Commit, "commit", "", "org.opencontainers.image.revision")
	f.StringVar(&r.Source, "source", "", "org.opencontainers.image.source (the repository's URL)")
	f.StringVar(&epoch, "source-date-epoch", "", "the time of every file and of the config, in seconds since 1970 (default $SOURCE_DATE_EPOCH, else 0)")
	f.StringVar(&out, "out", "", "the tarball to write")
	for _, name := range []string{"binary", "version", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if epoch == "" {
			epoch = envEpoch()
		}
	}
	return cmd
}

// envEpoch is $SOURCE_DATE_EPOCH, the reproducible-builds convention.
func envEpoch() string { return os.Getenv("SOURCE_DATE_EPOCH") }
