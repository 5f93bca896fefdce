// Package objectstore is `hadron-lab objectstore`: the lab's S3-compatible object store
// (internal/objectstore) in the foreground, until SIGTERM or SIGINT. The supervisor runs
// it as a process of its own, like a site's control plane, so it lives as long as the
// lab and its objects (in memory) with it.
package objectstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/objectstore"
)

// Command returns `hadron-lab objectstore`.
func Command() *cobra.Command {
	var cfg objectstore.Config
	cmd := &cobra.Command{
		Use:   "objectstore --listen HOST:PORT --cert FILE --key FILE --bucket NAME",
		Short: "Run the lab's S3-compatible object store (HTTPS, objects in memory)",
		Long: `objectstore serves an S3-compatible API over HTTPS in the foreground until SIGTERM
or SIGINT: the backup repository of the lab's mirror set. Objects are kept in memory:
they are gone when the process ends. Request signatures are not checked, so it listens
only on the lab's loopback addresses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			s, err := objectstore.Start(cfg)
			if err != nil {
				return err
			}
			cfg.Logger.Info("object store serving", "addr", s.Addr(), "buckets", cfg.Buckets)
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Close(sctx); err != nil {
				return fmt.Errorf("object store: stop: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "", "address to serve HTTPS on (host:port)")
	f.StringVar(&cfg.CertFile, "cert", "", "server certificate (PEM)")
	f.StringVar(&cfg.KeyFile, "key", "", "server key (PEM)")
	f.StringSliceVar(&cfg.Buckets, "bucket", nil, "bucket to create at start (repeatable)")
	for _, name := range []string{"listen", "cert", "key"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
