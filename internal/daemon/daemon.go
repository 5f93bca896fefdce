// Package daemon is `hadron serve`: one site's daemon. It runs (or joins) the etcd
// cluster, probes every site and publishes what it sees, follows every observer's
// results, campaigns for leadership (the leader publishes the quorum's verdicts under
// its fencing token), answers the GSLB zones from the shared state, fences its own site
// out of the answers when it loses the etcd majority, and serves the HTTPS API.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/member"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// Options configure a daemon.
type Options struct {
	Fleet *fleet.Fleet
	// Site is the fleet site this daemon runs at.
	Site string
	// DataDir holds the embedded etcd member's data.
	DataDir string
	PKI     coord.PKI
	// TokenFile holds the API bearer token (default the PKI's api-token).
	TokenFile string
	// EtcdEndpoints names an external etcd cluster instead of the embedded member;
	// EtcdTLS is its client TLS (nil for plain text).
	EtcdEndpoints []string
	EtcdTLS       *tls.Config
	// DNSListen and APIListen override the fleet's daemon addresses; PeerListen is
	// where the embedded etcd member accepts its peers instead of its advertised
	// spec.daemon.peer address (member.Cluster.ListenOn: a pod behind a load balancer),
	// LocalListen the loopback address of the member's client and relay with it.
	DNSListen, APIListen, PeerListen, LocalListen string
	// OwnCluster is the daemon's own site's cluster through the credentials it runs
	// with (a pod's service account, with --fleet-from-cluster); nil uses the Site's
	// kubeconfig context like every other site's. Its RBAC (the chart's ClusterRole)
	// then bounds what the daemon does in its own cluster.
	OwnCluster *site.Conn
	// LeaseTTL, QuorumInterval and FenceAfter tune leadership and self-fencing; zero
	// keeps the coord defaults.
	LeaseTTL, QuorumInterval, FenceAfter time.Duration
	// RRL limits the name server's UDP responses per client network; zero is off
	// (`hadron serve` passes dnsserver.DefaultRateLimit unless told otherwise).
	RRL dnsserver.RateLimit
	// StatusTXT serves the _status.<main name> TXT records (gslb.WithStatusTXT).
	StatusTXT bool
	// ProbesNeedToken makes /metrics and /healthz need a token with role read.
	ProbesNeedToken bool
	// FleetProblem says why the fleet last read from the cluster was refused ("" when
	// it was valid); nil for a fleet from a file. /v1/status and the metrics report it.
	FleetProblem func() string
	Log          *slog.Logger
}

// Daemon is a running daemon: its etcd member and client, its name server and API,
// and the parts that each own their state — what the observers see (observed), the
// mirror sets (dataView), the runs (runbooks) and the leader with its loops. This
// file only builds and wires them.
type Daemon struct {
	opts    Options
	site    *v1alpha1.Site
	log     *slog.Logger
	member  *member.Embedded
	client  *clientv3.Client
	quorum  *coord.Quorum
	elector *coord.Elector
	pub     *coordstate.Publisher
	follow  *coordstate.Observations
	store   *coordstate.Store
	fence   *coordstate.Fence
	catalog *gslb.Catalog
	engine  *dnsserver.Engine
	dns     *dnsserver.Server
	api     *api.Server
	tokens  *tokens
	cert    *pki.Pair // the site's certificate as the API serves it
	runner  *probe.Runner
	metrics *metrics
	// probes counts this observer's probes (every Record of the runner), for the
	// metrics' probe rate.
	probes atomic.Uint64

	obs    *observed
	data   *dataView
	checks *checks
	runs   *runbooks
	auto   *autoFailover
	leader *leader
	// providers is also the leader loop writing the DNS providers; every daemon scrubs
	// its site's DNSEndpoints through it when it loses the majority.
	providers *dnsProviders
}

// New starts the etcd member, binds the DNS and API listeners and prepares the rest;
// Run runs it.
func New(o Options) (*Daemon, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{opts: o, log: o.Log}
	d.site = o.Fleet.Site(o.Site)
	if d.site == nil || d.site.Spec.Daemon == nil {
		return nil, fmt.Errorf("site %s: %w", o.Site, member.ErrNotMember)
	}
	// The site's own bundle: the directory given, or its sites/<site>; never a CA made
	// up here (coord.PKI.ForSite says what to run instead).
	bundle, err := o.PKI.ForSite(o.Site)
	if err != nil {
		return nil, err
	}
	d.opts.PKI = bundle
	d.obs = newObserved(o.Fleet, d.log)
	ok := false
	defer func() {
		if !ok {
			if d.dns != nil {
				d.dns.Close()
			}
			d.close()
		}
	}()
	if err := d.startEtcd(); err != nil {
		return nil, err
	}
	if err := d.prepareDNS(); err != nil {
		return nil, err
	}
	if err := d.prepareProbes(); err != nil {
		return nil, err
	}
	d.wire()
	if err := d.prepareAPI(); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// wire builds the parts that act: the data view, the runs, the leader and its loops.
func (d *Daemon) wire() {
	f, log := d.opts.Fleet, d.log
	conns := &siteConns{fleet: f, own: d.opts.OwnCluster}
	d.data = newDataView(context.Background(), f, d.site, d.client, conns.kube, log)
	sites := &compute.Sites{Fleet: f, Connect: conns.get, Log: log.With("component", "compute")}
	repl := &replication{fleet: f, client: d.client, store: d.store, conns: conns, log: log,
		paused: map[string]int{}, running: map[string]*replRun{}}
	d.checks = &checks{fleet: f, here: d.site, catalog: d.catalog, targets: d.runner.Targets}
	providers := newDNSProviders(f, d.catalog, d.site, d.client, d.store, log)
	d.providers = providers
	d.runs = &runbooks{fleet: f, client: d.client, store: d.store, obs: d.obs, data: d.data, repl: repl,
		sites: sites, checks: d.checks, providers: providers, log: log,
		observeRun: func(r *runbook.Record) { d.metrics.observeRun(r) }}
	d.auto = &autoFailover{fleet: f, site: d.opts.Site, client: d.client, store: d.store, obs: d.obs,
		data: d.data, runs: d.runs, log: log}
	d.leader = &leader{fleet: f, client: d.client, store: d.store, obs: d.obs, elector: d.elector,
		place: &placer{fleet: f, site: d.opts.Site, store: d.store, obs: d.obs, data: d.data},
		runs:  d.runs, log: log,
		loops: []leaderLoop{
			&raftLead{member: d.member, log: log},
			d.auto,
			repl,
			&rpoCounter{fleet: f, client: d.client, data: d.data, log: log},
			&pendingStandbys{fleet: f, client: d.client, store: d.store, sites: sites, log: log},
			&dataMonitors{fleet: f, data: d.data, repl: repl, log: log},
			&readinessChecks{fleet: f, client: d.client, store: d.store, conns: conns, data: d.data, site: d.opts.Site, log: log},
			&backupSchedules{fleet: f, client: d.client, data: d.data, log: log},
			providers,
			&crStatus{fleet: f, client: d.client, conns: conns, site: d.opts.Site, status: d.Status, log: log},
		}}
}

func (d *Daemon) startEtcd() error {
	o := d.opts
	endpoints, tlsCfg := o.EtcdEndpoints, o.EtcdTLS
	if len(endpoints) == 0 {
		cl, err := member.Plan(o.Fleet, o.Site)
		if err != nil {
			return err
		}
		if o.PeerListen != "" {
			if cl, err = cl.ListenOn(o.PeerListen, o.LocalListen); err != nil {
				return err
			}
		}
		d.member, err = member.Start(member.Options{Cluster: cl, DataDir: o.DataDir, PKI: o.PKI, Log: d.log})
		if err != nil {
			return err
		}
		endpoints = d.member.Endpoints()
		if tlsCfg, err = o.PKI.ClientTLS(o.Site); err != nil {
			return err
		}
	}
	c, err := coord.NewClient(coord.ClientOptions{Endpoints: endpoints, TLS: tlsCfg})
	if err != nil {
		return err
	}
	d.client = c
	d.quorum = &coord.Quorum{Client: c, Interval: o.QuorumInterval, FenceAfter: o.FenceAfter, OnChange: d.onFence}
	d.elector = coord.NewElector(c, o.Site, o.LeaseTTL)
	return nil
}

func (d *Daemon) prepareDNS() error {
	var apps []string
	for _, a := range d.opts.Fleet.Applications {
		apps = append(apps, a.Name)
	}
	d.store = coordstate.NewStore(d.client, d.log)
	d.fence = coordstate.NewFence(d.store, d.opts.Site, apps)
	var copts []gslb.CompileOption
	if d.opts.StatusTXT {
		copts = append(copts, gslb.WithStatusTXT())
	}
	cat, err := gslb.Compile(d.opts.Fleet, copts...)
	if errors.Is(err, gslb.ErrNoDNS) {
		// A fleet without DNS names yet (a witness being set up, no applications):
		// the daemon still votes and observes; there is nothing to answer.
		d.log.Info("no application has DNS names: not serving DNS")
		d.catalog = &gslb.Catalog{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("compile zones: %w", err)
	}
	d.catalog = cat
	if d.engine, err = dnsserver.NewEngine(cat); err != nil {
		return err
	}
	addr := d.opts.DNSListen
	if addr == "" && d.site.Spec.Daemon.DNS != nil {
		addr = d.site.Spec.Daemon.DNS.Address
	}
	if addr == "" {
		return errors.New("no DNS address: set spec.daemon.dns or --dns-listen")
	}
	d.dns, err = dnsserver.Listen(dnsserver.Config{Addr: addr, Engine: d.engine, Log: d.log, RRL: d.opts.RRL})
	return err
}

func (d *Daemon) prepareProbes() error {
	f := d.opts.Fleet
	targets, err := probe.Targets(f, d.site.Spec.Region, probe.CheckerOptions{})
	if err != nil {
		return err
	}
	d.pub = coordstate.NewPublisher(d.client, d.log)
	record := func(ob probe.Observation) {
		d.probes.Add(1)
		d.pub.Record(ob)
	}
	d.runner = &probe.Runner{Observer: d.opts.Site, Targets: targets, Record: record, Log: d.log}
	d.follow = &coordstate.Observations{Client: d.client, Log: d.log, Record: d.obs.record}
	return nil
}

func (d *Daemon) prepareAPI() error {
	token, err := d.opts.PKI.Token()
	if d.opts.TokenFile != "" {
		token, err = d.opts.PKI.TokenAt(d.opts.TokenFile)
	}
	if err != nil {
		return err
	}
	if d.cert, err = d.opts.PKI.Pair(d.opts.Site); err != nil {
		return err
	}
	tlsCfg := coord.ServerTLS(d.cert)
	addr := d.opts.APIListen
	if addr == "" {
		addr = d.site.Spec.Daemon.API.Address
	}
	d.metrics = newMetrics(d)
	d.tokens = newTokens(d.client, token, d.log) // the PKI's api-token is the bootstrap token
	d.api, err = api.Listen(api.ServerConfig{Addr: addr, TLS: tlsCfg, Verifier: d.tokens.verifier,
		ProbesNeedToken: d.opts.ProbesNeedToken, Log: d.log},
		api.Handlers{Status: d.Status, Metrics: d.metrics.handler(), Runbooks: d.runs.handlers(), Tokens: d.tokens.handlers(),
			UI: d.dashboardRoutes().Routes()})
	return err
}

func (d *Daemon) onFence(fenced bool) {
	if fenced {
		d.log.Warn("no etcd majority: fencing this site out of the DNS answers and its primaries read-only")
	} else {
		d.log.Info("etcd majority reached: answering for this site")
	}
	if d.data != nil {
		d.data.fence.set(fenced)
	}
	if d.providers != nil {
		d.providers.fence.set(fenced)
	}
	d.fence.SetFenced(fenced)
}

// DNSAddr and APIAddr are where the daemon listens.
func (d *Daemon) DNSAddr() string {
	if d.dns == nil {
		return ""
	}
	return d.dns.Addr()
}
func (d *Daemon) APIAddr() string { return d.api.Addr() }

// Client is the daemon's etcd client.
func (d *Daemon) Client() *clientv3.Client { return d.client }

// Run runs every part until ctx ends, then stops the etcd member.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	goRun(d.quorum.Run)
	goRun(d.pub.Run)
	goRun(d.follow.Run)
	goRun(d.store.Run)
	goRun(func(ctx context.Context) { d.fence.Run(ctx) })
	errc := make(chan error, 3)
	if d.dns != nil {
		goRun(func(ctx context.Context) {
			if err := d.engine.Follow(ctx, d.fence, d.log); err != nil {
				d.log.Error("DNS state follower stopped", "err", err)
			}
		})
		goRun(func(ctx context.Context) { errc <- d.dns.Serve(ctx) })
	}
	goRun(d.runner.Run)
	goRun(d.leader.run)
	goRun(func(ctx context.Context) { d.obs.followActive(ctx, d.store) })
	goRun(d.data.observe)
	goRun(d.data.fenceLoop)
	goRun(d.providers.scrubLoop)
	goRun(d.data.keepBounds)
	goRun(d.data.publishReach)
	goRun(d.data.reaches.Run)
	goRun(d.tokens.verifier.Run)
	goRun(func(ctx context.Context) { errc <- d.api.Serve(ctx) })
	var memberErr <-chan error
	if d.member != nil {
		memberErr = d.member.Err()
	}
	d.log.Info("daemon running", "dns", d.DNSAddr(), "api", d.api.Addr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	case err = <-memberErr:
		err = fmt.Errorf("etcd member: %w", err)
	}
	// The leadership loop resigns on its way out, so that another daemon leads at
	// once instead of after the lease.
	cancel()
	wg.Wait()
	return err
}

// close releases what New took: the data drivers' idle database sessions, the etcd
// client and member (the listeners close when Run's servers stop). A daemon restarted
// in the same process with a new fleet (hadron serve --fleet-from-cluster) starts
// from nothing left over.
func (d *Daemon) close() {
	if d.data != nil {
		for _, drv := range d.data.drivers {
			if c, ok := drv.(interface{ Close() }); ok {
				c.Close()
			}
		}
	}
	if d.client != nil {
		d.client.Close()
	}
	if d.member != nil {
		d.member.Close()
	}
}

// mainName is the canonical main name of an application.
func mainName(a *gslb.App) string { return strings.ToLower(a.Main) }
