// Package dns is `hadron dns`: run the GSLB DNS server standalone and sync records to
// DNS providers.
package dns

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/gslb/dnsserver"
	"hadron.dev/hadron/internal/gslb/standalone"
)

// Command returns `hadron dns`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Serve the GSLB zones, or write the application names to a DNS provider",
	}
	cmd.AddCommand(serveCommand(), syncCommand(), scrubCommand(), zoneCommand())
	return cmd
}

func serveCommand() *cobra.Command {
	var (
		file, listen, observer string
		rrl                    dnsserver.RateLimit
		verbose, statusTXT     bool
	)
	cmd := &cobra.Command{
		Use:   "serve [-f FILE] [--listen ADDR] [--observer SITE]",
		Short: "Probe every site and answer the GSLB zones authoritatively (UDP and TCP)",
		Long: `Probe every site and answer the GSLB zones authoritatively (UDP and TCP).

Standalone mode: this process is the only observer, so its probes alone decide
whether a site is down. --observer names the fleet site this process runs at; the
probes then use the addresses of the other sites as seen from that site's region.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("component", "dns")
			var obs []standalone.Observer
			if observer != "" {
				s := f.Site(observer)
				if s == nil {
					return cli.Usagef("--observer %s: no such site in %s", observer, file)
				}
				obs = append(obs, standalone.Observer{Name: observer, Region: s.Spec.Region})
			}
			node, err := standalone.New(standalone.Options{Fleet: f, Listen: listen, Observers: obs, RRL: rrl, StatusTXT: statusTXT, Log: log})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(cmd.OutOrStdout(), "serving DNS on %s\n", node.Server.Addr())
			return node.Run(ctx)
		},
	}
	cli.FileFlag(cmd.Flags(), &file)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:5353", "address (host:port) to serve UDP and TCP on")
	cmd.Flags().StringVar(&observer, "observer", "", "fleet site this process observes from (default: plain addresses)")
	cli.CompleteSiteFlag(cmd, "observer")
	cli.DNSServerFlags(cmd.Flags(), &rrl, &statusTXT)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every probe failure")
	return cmd
}
