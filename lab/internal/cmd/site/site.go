// Package site is `hadron-lab site`: one lab site's control plane in the foreground,
// until SIGTERM or SIGINT.
package site

import (
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"hadron.dev/hadron/lab/internal/controlplane"
)

// Command returns `hadron-lab site`.
func Command() *cobra.Command {
	var c controlplane.Config
	cmd := &cobra.Command{
		Use:   "site --name NAME --region REGION --zones Z1,Z2,Z3 --ip 127.0.N.1 --dir DIR",
		Short: "Run one lab site's Kubernetes control plane (etcd, API server, controllers, scheduler, simulated nodes)",
		Long: `site runs one lab site's control plane in the foreground until SIGTERM or SIGINT:
embedded etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with
simulated nodes labelled by region and zone, all on the site's own loopback address.
It writes DIR/kubeconfig (context hadron-lab-NAME) and DIR/ready once every node is Ready;
the components' logs are in DIR/logs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(filepath.Join(c.Dir, "logs"), 0o755); err != nil {
				return err
			}
			// client-go logs through klog; keep it out of the site's own log.
			if f, err := os.OpenFile(filepath.Join(c.Dir, "logs", "site-klog.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				defer f.Close()
				klog.LogToStderr(false)
				klog.SetOutput(f)
			}
			c.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return controlplane.Run(ctx, c) // its errors name the site
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Name, "name", "", "site name (labels nodes hadron.dev/lab-site and names the kubeconfig context hadron-lab-NAME)")
	f.StringVar(&c.Region, "region", "", "region label of the nodes (topology.kubernetes.io/region)")
	f.StringSliceVar(&c.Zones, "zones", nil, "zones of the nodes, comma-separated (topology.kubernetes.io/zone)")
	f.IntVar(&c.NodesPerZone, "nodes-per-zone", 2, "simulated worker nodes per zone (with --autoscaler: the most it adds)")
	f.StringVar(&c.IP, "ip", "", "loopback address every component of the site binds to (127.0.1.1)")
	f.StringVar(&c.Dir, "dir", "", "state directory (etcd data, certificates, logs, kubeconfig)")
	f.StringVar(&c.CADir, "ca-dir", "", "directory of the lab CA shared by all sites (default DIR/pki)")
	f.StringSliceVar(&c.APIServerSANs, "apiserver-san", nil, "extra name or address in the API server certificate (repeatable)")
	f.StringVar(&c.Autoscaler, "autoscaler", "", "NAMESPACE/NAME of a node autoscaler Deployment: start with control nodes only and add workers while it is ready and pods are Pending")
	for _, name := range []string{"name", "region", "zones", "ip", "dir"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
