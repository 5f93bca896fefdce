// Package serve is `hadron serve`: run one site's daemon.
package serve

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/daemon"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/fleetsource"
	"hadron.dev/hadron/internal/gslb/dnsserver"
)

// Command returns `hadron serve`.
func Command() *cobra.Command {
	var (
		file, site, dataDir, pkiDir, initPKI          string
		tokenFile                                     string
		dnsListen, apiListen, peerListen, localListen string
		etcdEndpoints                                 []string
		etcdCA, etcdCert, etcdKey                     string
		certValidity                                  time.Duration
		verbose                                       bool
		rrl                                           dnsserver.RateLimit
		statusTXT, probesNeedToken                    bool
		fromCluster                                   bool
		kubeconfig                                    string
	)
	cmd := &cobra.Command{
		Use:   "serve (--site SITE | --init-pki DIR) [-f FILE | --fleet-from-cluster [--kubeconfig FILE]] [--pki DIR]",
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

Hardened by default: the name server rate-limits UDP responses per client network
(--rrl-rate, --rrl-slip), answers at most 1232 bytes over UDP (TC beyond), serves the
_status TXT records only with --status-txt, and answers dynamic updates NOTIMP. Every
API route needs a token holding its role (hadron token); the PKI's api-token is the
bootstrap token, and the ledger records the name of the token that decided.

--pki names this site's bundle: ca.crt, <site>.crt, <site>.key and api-token (or a
CA's directory, whose sites/<site>/ is then used). A daemon never creates a CA: without
its certificate it stops and says what to run. Create the PKI once, on a trusted
machine, with --init-pki DIR: it writes

  DIR/ca.crt, DIR/ca.key, DIR/api-token    the CA; ca.key stays on this machine
  DIR/sites/<site>/                         one bundle per daemon site: copy it to
                                            that site only (--pki there)
  DIR/client/                               the operator's (hadron status --pki,
                                            etcdctl): ca.crt, client.crt/.key, api-token

Running it again adds what the fleet gained and keeps the rest. Certificates live
--cert-validity (default one year); ` + "`hadron pki rotate --ca-dir DIR`" + ` reissues them and
daemons load the new files without a restart.

--fleet-from-cluster reads the fleet from the custom resources (Site, Application,
MirrorSet, DNSProvider of hadron.dev/v1alpha1; kubectl apply -f config/crd) of the
daemon's own cluster instead of -f, with the pod's service account (or --kubeconfig
outside a pod), and follows them: when a spec changes and the whole fleet is valid by
hadron's rules, the daemon restarts in this process with it (a status write restarts
nothing). An invalid fleet is never applied: the daemon keeps the last valid one, logs
the problem and reports it as a FleetInvalid Event on the object (kubectl events),
naming the field path. The daemons keep the fleet the same in every site: an edit in
one cluster is published through etcd and written into the other sites' clusters
(objects the published fleet dropped are deleted there only if they were published
once). It needs get, list, watch, create, update, patch and delete on the four
resources and create on events.k8s.io events; at start, an invalid fleet stops it
with the problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if site == "" && initPKI == "" {
				return cli.Usagef("--site SITE is required (or --init-pki DIR)")
			}
			if fromCluster && cmd.Flags().Changed("file") {
				return cli.Usagef("-f and --fleet-from-cluster exclude each other: the fleet comes from a file or from the cluster")
			}
			if kubeconfig != "" && !fromCluster {
				return cli.Usagef("--kubeconfig names the cluster of --fleet-from-cluster; give both or neither")
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("daemon", site)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var (
				f      *fleet.Fleet
				source *fleetsource.Watcher
				from   = file
				err    error
			)
			if fromCluster {
				var snap fleetsource.Snapshot
				if source, snap, err = readClusterFleet(ctx, kubeconfig, site, log); err != nil {
					return err
				}
				f, from = snap.Fleet, "the cluster's fleet"
			} else if f, err = cli.LoadFleet(file); err != nil {
				return err
			}
			if initPKI != "" {
				return initPKIDir(cmd.OutOrStdout(), f, initPKI, certValidity)
			}
			if s := f.Site(site); s == nil || s.Spec.Daemon == nil {
				return cli.Usagef("--site %s: no site of %s has a daemon (spec.daemon) by that name", site, from)
			}
			pki, err := coord.PKI{Dir: pkiDir}.ForSite(site)
			if err != nil {
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
			if pki.HoldsCAKey() {
				log.Warn("the PKI directory holds the CA key: a site needs only its bundle (--init-pki's DIR/sites/SITE)", "pki", pki.Dir)
			}
			o := daemon.Options{Fleet: f, Site: site, DataDir: dataDir, PKI: pki, TokenFile: tokenFile,
				EtcdEndpoints: etcdEndpoints, EtcdTLS: etcdTLS, DNSListen: dnsListen, APIListen: apiListen, PeerListen: peerListen, LocalListen: localListen,
				RRL: rrl, StatusTXT: statusTXT, ProbesNeedToken: probesNeedToken, Log: log}
			if source != nil {
				o.FleetProblem = source.Problem
				o.OwnCluster = source.Conn
				return runFollowing(ctx, o, source, cmd.OutOrStdout())
			}
			d, err := daemon.New(o)
			if err != nil {
				return err
			}
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
	fl.StringVar(&initPKI, "init-pki", "", "create the CA and a bundle for every daemon site (DIR/sites/SITE) and the operator (DIR/client) in this directory and exit")
	fl.DurationVar(&certValidity, "cert-validity", 0, "with --init-pki: validity of the certificates issued (default 8760h, one year)")
	fl.StringSliceVar(&etcdEndpoints, "etcd-endpoints", nil, "use this external etcd cluster instead of an embedded member (comma-separated URLs)")
	fl.StringVar(&etcdCA, "etcd-ca", "", "CA file of the external etcd cluster")
	fl.StringVar(&etcdCert, "etcd-cert", "", "client certificate for the external etcd cluster")
	fl.StringVar(&etcdKey, "etcd-key", "", "client key for the external etcd cluster")
	fl.StringVar(&dnsListen, "dns-listen", "", "address for DNS (default spec.daemon.dns.address)")
	fl.StringVar(&apiListen, "api-listen", "", "address for the API (default spec.daemon.api.address)")
	fl.StringVar(&peerListen, "peer-listen", "", "address the etcd member accepts peers on, e.g. 0.0.0.0:2380 in a pod behind a load balancer (default spec.daemon.peer.address; it still advertises that one)")
	fl.StringVar(&localListen, "local-listen", "", "with --peer-listen, the loopback address of the etcd member's client and relay (default 127.0.0.1); pods on the node's network share its loopback, so each daemon needs its own, named by the site's certificate (a host of its spec.daemon addresses)")
	cli.DNSServerFlags(fl, &rrl, &statusTXT)
	fl.BoolVar(&probesNeedToken, "probes-need-token", false, "make /metrics and /healthz need an API token with role read (default: open, for Prometheus and health checks)")
	fl.BoolVar(&fromCluster, "fleet-from-cluster", false, "read the fleet from the custom resources of this daemon's own cluster and follow them (instead of -f)")
	fl.StringVar(&kubeconfig, "kubeconfig", "", "with --fleet-from-cluster: kubeconfig of the daemon's own cluster (default: the pod's service account)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// initPKIDir runs --init-pki and says what goes where.
func initPKIDir(w io.Writer, f *fleet.Fleet, dir string, validity time.Duration) error {
	p := coord.PKI{Dir: dir}
	if err := p.InitWith(f, coord.InitOptions{Validity: validity}); err != nil {
		return err
	}
	fmt.Fprintf(w, "PKI for the fleet's daemons in %s (keep %s there: it is the CA key)\n", dir, filepath.Join(dir, "ca.key"))
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			fmt.Fprintf(w, "  site %s: copy %s/ to the site, then hadron serve --site %s --pki <that directory>\n", s.Name, p.SiteBundle(s.Name).Dir, s.Name)
		}
	}
	fmt.Fprintf(w, "  operator: hadron status --pki %s\n", p.OperatorBundle().Dir)
	return nil
}
