// Package fleetcmd is `hadron fleet export|import`: a fleet file to the manifests of
// hadron's custom resources and back.
package fleetcmd

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
)

// Exit statuses, as hadron validate's: the input has problems, or cannot be read.
const (
	ExitProblems   = 1
	ExitUnreadable = 2
)

// Command returns `hadron fleet`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Convert a fleet file to custom resource manifests and back",
		Long: `Convert a fleet file to the manifests of hadron's custom resources (Site,
Application, MirrorSet, DNSProvider of hadron.dev/v1alpha1; CRDs in config/crd) and
back. The fleet file stays the way to describe a fleet outside a cluster.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(exportCommand(), importCommand())
	return cmd
}

func exportCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "export [-f FILE]",
		Short: "Print a fleet's objects as manifests for kubectl apply",
		Long: `Print a fleet's objects as a multi-document YAML stream of hadron.dev/v1alpha1
manifests, for kubectl apply. The fleet is validated first (as hadron validate does);
each object keeps its name, labels, annotations and spec as written: no defaults are
filled in and paths (kubeconfig, dataDir, secrets in files) are kept as they are, since
they are part of the spec — relative ones mean relative to wherever the reader runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srcs, err := fleet.ReadSources(path)
			if err != nil {
				return cli.Exit(ExitUnreadable, err)
			}
			return convert(cmd, srcs)
		},
	}
	cli.FileFlag(cmd.Flags(), &path)
	return cmd
}

func importCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "import -f MANIFESTS",
		Short: "Print a fleet file from hadron.dev manifests",
		Long: `Read hadron.dev/v1alpha1 manifests (as hadron fleet export writes them, or as
kubectl get -o yaml prints them, a List included), validate them with the fleet's
rules and print the fleet file they make. What the API server and hadron add (status,
uid, resourceVersion, managedFields, kubectl's last-applied annotation) is left out.
-f - reads standard input. A problem is reported as hadron validate reports it:

  FILE: KIND "NAME": FIELD.PATH: REASON`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := readInput(cmd.InOrStdin(), path)
			if err != nil {
				return cli.Exit(ExitUnreadable, err)
			}
			return convert(cmd, []fleet.Source{src})
		},
	}
	cmd.Flags().StringVarP(&path, "file", "f", "", "manifests file, or - for standard input")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// readInput reads the file at path, or r when path is "-".
func readInput(r io.Reader, path string) (fleet.Source, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(r)
		path = "<stdin>"
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return fleet.Source{}, fmt.Errorf("read manifests: %w", err)
	}
	return fleet.Source{Name: path, Data: b}, nil
}

// convert validates srcs and prints them as documents; export and import differ only
// in where they read from, because a fleet file and a set of manifests are the same
// objects in the same shape.
func convert(cmd *cobra.Command, srcs []fleet.Source) error {
	srcs, err := manifests.ExpandLists(srcs)
	if err != nil {
		return cli.Exit(ExitProblems, err)
	}
	f, err := manifests.Read(srcs...)
	if problems, ok := fleet.AsErrors(err); ok {
		for _, p := range problems {
			fmt.Fprintln(cmd.ErrOrStderr(), p.Error())
		}
		return cli.Exit(ExitProblems, fmt.Errorf("%d problem(s)", len(problems)))
	}
	if err != nil {
		return err
	}
	out, err := manifests.Write(f)
	if err != nil {
		return err
	}
	if _, err := cmd.OutOrStdout().Write(out); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
