package labworld

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

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
	)
	cmd := &cobra.Command{
		Use:   "apply --site NAME -f PATH",
		Short: "Apply Kubernetes manifests (a file or a directory) to a lab site with server-side apply",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			results, err := conn.Apply(ctx, objs)
			for _, r := range results {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", siteName, r)
			}
			return err
		},
	}
	df.add(cmd)
	cmd.Flags().StringVar(&siteName, "site", "", "the site to apply to")
	cmd.Flags().StringVarP(&path, "filename", "f", "", "a manifest file or a directory of them")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}
