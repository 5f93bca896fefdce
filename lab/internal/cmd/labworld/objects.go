package labworld

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/lab/internal/topology"
)

// ObjectsCommand is `hadron-lab objects --apps N --per-app K -o DIR`: the manifests of
// the light applications (lab.yaml's apps), one directory per application, for
// `hadron lab apply --site east -f DIR/app-001` (bench/scale/run.sh).
func ObjectsCommand() *cobra.Command {
	var (
		apps, perApp int
		out          string
	)
	cmd := &cobra.Command{
		Use:   "objects --apps N [--per-app K] -o DIR",
		Short: "Write the manifests of the lab's light applications (namespace, Deployment, Service, ConfigMaps), one directory per application",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return cli.Usagef("-o DIR is required")
			}
			if apps < 1 || apps > topology.MaxApps {
				return cli.Usagef("--apps %d is outside 1..%d", apps, topology.MaxApps)
			}
			if perApp < topology.MinObjectsPerApp {
				return cli.Usagef("--per-app %d is below %d (namespace, Deployment, Service)", perApp, topology.MinObjectsPerApp)
			}
			for i := 1; i <= apps; i++ {
				app := topology.AppName(i)
				dir := filepath.Join(out, app)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return fmt.Errorf("objects of %s: %w", app, err)
				}
				if err := os.WriteFile(filepath.Join(dir, app+".yaml"), topology.AppManifests(app, perApp), 0o644); err != nil {
					return fmt.Errorf("objects of %s: %w", app, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d applications, %d objects each, in %s\n", apps, perApp, out)
			return nil
		},
	}
	cmd.Flags().IntVar(&apps, "apps", 0, "how many light applications (app-001 ...), as lab.yaml's apps")
	cmd.Flags().IntVar(&perApp, "per-app", 200, "objects per application: its namespace, Deployment and Service, the rest ConfigMaps")
	cmd.Flags().StringVarP(&out, "output", "o", "", "the directory to write DIR/<app>/<app>.yaml into")
	return cmd
}
