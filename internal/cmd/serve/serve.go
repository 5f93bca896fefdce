// Package serve is `hadron serve`: run one site's daemon.
package serve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/daemon"
)

// Command returns `hadron serve`.
func Command() *cobra.Command {
	var (
		file, site, dataDir, pkiDir, initPKI string
		tokenFile                            string
		dnsListen, apiListen                 string
		etcdEndpoints                        []string
		etcdCA, etcdCert, etcdKey            string
		verbose                              bool
	)
	cmd := &cobra.Command{
		Use:   "serve (--site SITE | --init-pki DIR) [-f FILE] [--pki DIR]",
		Short: "Run the hadron daemon of one site: etcd member, probes, GSLB DNS and the API",
		Long: `Run the hadron daemon of one site.

Every site with spec.daemon runs one daemon. The daemons' embedded etcd members form
one cluster (TLS between members; data in --data-dir); or --etcd-endpoints names an
external cluster. Each daemon probes every site and writes what it sees to etcd; the
elected leader publishes the quorum's verdicts under its fencing token; every daemon
answers the GSLB zones on spec.daemon.dns from that shared state, so all of them answer
alike. A daemon that cannot reach an etcd majority stops answering the main names with
its own site (self-fencing). The HTTPS API (spec.daemon.api) serves /v1/status with the
bearer token of the PKI directory, and /metrics for Prometheus.

The PKI directory holds ca.crt, <site>.crt/.key for every daemon site and api-token.
When it has no CA, serve creates a development CA, the certificates and the token on
first start; --init-pki DIR does the same and exits, so that the directory can be copied
to every site first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if site == "" && initPKI == "" {
				return cli.Usagef("--site SITE is required (or --init-pki DIR)")
			}
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			if initPKI != "" {
				if err := (coord.PKI{Dir: initPKI}).Init(f); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "PKI for the fleet's daemons in %s\n", initPKI)
				return nil
			}
			if s := f.Site(site); s == nil || s.Spec.Daemon == nil {
				return cli.Usagef("--site %s: no site of %s has a daemon (spec.daemon) by that name", site, file)
			}
			pki := coord.PKI{Dir: pkiDir}
			if err := pki.Init(f); err != nil {
				return err
			}
			if dataDir == "" {
				dataDir = filepath.Join("hadron-data", site)
			}
			var etcdTLS *tls.Config
			if len(etcdEndpoints) > 0 && (etcdCA != "" || etcdCert != "") {
				info := transport.TLSInfo{TrustedCAFile: etcdCA, CertFile: etcdCert, KeyFile: etcdKey}
				if etcdTLS, err = info.ClientConfig(); err != nil {
					return fmt.Errorf("etcd client TLS: %w", err)
				}
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("daemon", site)
			d, err := daemon.New(daemon.Options{Fleet: f, Site: site, DataDir: dataDir, PKI: pki, TokenFile: tokenFile,
				EtcdEndpoints: etcdEndpoints, EtcdTLS: etcdTLS, DNSListen: dnsListen, APIListen: apiListen, Log: log})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(cmd.OutOrStdout(), "hadron daemon of %s: DNS %s, API https://%s\n", site, d.DNSAddr(), d.APIAddr())
			return d.Run(ctx)
		},
	}
	fl := cmd.Flags()
	cli.FileFlag(fl, &file)
	fl.StringVar(&site, "site", "", "the fleet site this daemon runs at")
	cli.CompleteSiteFlag(cmd, "site")
	fl.StringVar(&dataDir, "data-dir", "", "directory of the embedded etcd member's data (default hadron-data/SITE)")
	cli.PKIFlag(fl, &pkiDir)
	fl.StringVar(&tokenFile, "token-file", "", "file with the API bearer token (default PKI/api-token)")
	fl.StringVar(&initPKI, "init-pki", "", "create a development PKI for every daemon of the fleet in this directory and exit")
	fl.StringSliceVar(&etcdEndpoints, "etcd-endpoints", nil, "use this external etcd cluster instead of an embedded member (comma-separated URLs)")
	fl.StringVar(&etcdCA, "etcd-ca", "", "CA file of the external etcd cluster")
	fl.StringVar(&etcdCert, "etcd-cert", "", "client certificate for the external etcd cluster")
	fl.StringVar(&etcdKey, "etcd-key", "", "client key for the external etcd cluster")
	fl.StringVar(&dnsListen, "dns-listen", "", "address for DNS (default spec.daemon.dns.address)")
	fl.StringVar(&apiListen, "api-listen", "", "address for the API (default spec.daemon.api.address)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}
