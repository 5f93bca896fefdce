package main

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/demo"
)

// Environment variables that stand in for serve's flags (the Kubernetes manifests set
// them from a ConfigMap); the password comes from PGPASSWORD.
const (
	envListen = "HADRON_DEMO_LISTEN"
	envDSN    = "HADRON_DEMO_DSN"
	envSite   = "HADRON_DEMO_SITE"
)

func serveCommand() *cobra.Command {
	var (
		listen, dsn, site, logLevel string
		timeout                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web service",
		Long: `Run the demo web service: POST /write?client=ID&seq=N, GET /read?client=ID,
GET /stats, GET /healthz and GET /.

The DSN may list several hosts with target_session_attrs=read-write; every new
connection then goes to the member that accepts writes, so the service follows a
database failover without a restart. Give the password in PGPASSWORD rather than in
the DSN.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dsn == "" {
				return errors.New("serve: --dsn (or " + envDSN + ") is required")
			}
			if site == "" {
				return errors.New("serve: --site (or " + envSite + ") is required")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return errors.New("serve: --log-level: want debug, info, warn or error")
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("site", site)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return demo.Serve(ctx, demo.ServeOptions{
				Listen: listen, DSN: dsn, Site: site, Log: log,
				PG: demo.PGOptions{Timeout: timeout},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", envOr(envListen, ":8080"), "HTTP listen address (env "+envListen+")")
	f.StringVar(&dsn, "dsn", os.Getenv(envDSN), "PostgreSQL connection string, e.g. postgres://user@h1:5432,h2:5432/shop?target_session_attrs=read-write (env "+envDSN+"; password in PGPASSWORD)")
	f.StringVar(&site, "site", os.Getenv(envSite), "site name reported in every answer (env "+envSite+")")
	f.DurationVar(&timeout, "db-timeout", 3*time.Second, "limit of every database call")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
