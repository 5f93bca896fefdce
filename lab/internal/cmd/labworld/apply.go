package labworld

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
)

// ApplyCommand is `hadron-lab apply --site NAME -f PATH`: server-side apply of
// manifests to one of the lab's sites, so a lab needs no kubectl.
func ApplyCommand() *cobra.Command {
	var (
		df       dirFlag
		siteName string
		path     string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "apply --site NAME -f PATH [--dry-run]",
		Short: "Apply Kubernetes manifests (a file or a directory) to a lab site with server-side apply",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return cli.Usagef("-f/--file PATH is required: a manifest file or a directory of them")
			}
			dir := df.get()
			f, err := fleet.Load(dir.Fleet())
			if err != nil {
				return fmt.Errorf("the lab's fleet (is the lab up?): %w", err)
			}
			s := f.Site(siteName)
			if s == nil {
				return fmt.Errorf("site %q is not in the lab", siteName)
			}
			conn, err := site.Connect(s, f.Dir)
			if err != nil {
				return err
			}
			objs, err := site.ReadManifests(path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			if dryRun {
				for _, o := range objs {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: would %s %s %s\n", siteName, applyAction(ctx, conn, o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version, o.GetNamespace(), o.GetName()),
						o.GetKind(), objectName(o.GetNamespace(), o.GetName()))
				}
				return nil
			}
			results, err := conn.Apply(ctx, objs)
			for _, r := range results {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", siteName, r)
			}
			return err
		},
	}
	df.add(cmd)
	cmd.Flags().StringVar(&siteName, "site", "", "the site to apply to")
	cmd.Flags().StringVarP(&path, "file", "f", "", "a manifest file or a directory of them")
	cli.Alias(cmd.Flags(), "filename", "file")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say which objects would be created and which updated; change nothing")
	_ = cmd.MarkFlagRequired("site") // -f is checked in RunE: --filename sets it too
	return cmd
}

// applyAction is what applying an object would do now: create it, or update it.
func applyAction(ctx context.Context, conn *site.Conn, gk schema.GroupKind, version, ns, name string) string {
	m, err := conn.Mapper.RESTMapping(gk, version)
	if err != nil {
		return "apply (kind unknown to the site: " + err.Error() + ")"
	}
	_, err = conn.Dynamic.Resource(m.Resource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return "update"
	case apierrors.IsNotFound(err):
		return "create"
	}
	return "apply (" + err.Error() + ")"
}

func objectName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
