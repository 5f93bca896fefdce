package labworld

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/lab/internal/topology"
	"hadron.dev/hadron/lab/internal/world"
)

func topologyYAML(cfg topology.Config) ([]byte, error) {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	return b, nil
}

// SuperviseCommand is the background role `up` starts: it owns every process of the
// world and answers the lab's socket.
func SuperviseCommand() *cobra.Command {
	var (
		df     dirFlag
		demo   string
		hadron string
	)
	cmd := &cobra.Command{
		Use:    "supervise",
		Short:  "Run a lab world in the foreground (started by `up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := df.get()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			cfg, err := topology.Load(dir.Config())
			if err != nil {
				return err
			}
			if pid := dir.SupervisorPID(); pid != 0 && pid != os.Getpid() {
				return fmt.Errorf("a lab is already running in %s (pid %d)", dir, pid)
			}
			if err := world.WritePID(dir); err != nil {
				return err
			}
			defer os.Remove(dir.PIDFile())
			self, err := os.Executable()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			w := world.New(cfg, world.Options{Dir: dir, LabBinary: self, DemoBinary: demo, HadronBinary: hadron}, log)
			go func() {
				if err := w.Serve(ctx, cancel); err != nil {
					log.Error("lab socket", "err", err)
					cancel()
				}
			}()
			err = w.Run(ctx)
			// Let `up` read the failure before the socket goes away.
			if err != nil {
				w.Linger(ctx)
			}
			return err
		},
	}
	df.add(cmd)
	cmd.Flags().StringVar(&demo, "demo-binary", "hadron-demo", "the demo application's binary")
	cmd.Flags().StringVar(&hadron, "hadron-binary", "hadron", "the hadron binary the daemons run")
	return cmd
}
