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
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/member"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsserver"
	"hadron.dev/hadron/internal/probe"
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
	// DNSListen and APIListen override the fleet's daemon addresses.
	DNSListen, APIListen string
	// LeaseTTL, QuorumInterval and FenceAfter tune leadership and self-fencing; zero
	// keeps the coord defaults.
	LeaseTTL, QuorumInterval, FenceAfter time.Duration
	RRL                                  dnsserver.RateLimit
	Log                                  *slog.Logger
}

// Daemon is a running daemon.
type Daemon struct {
	opts       Options
	site       *v1alpha1.Site
	member     *member.Embedded
	client     *clientv3.Client
	quorum     *coord.Quorum
	elector    *coord.Elector
	tracker    *probe.Tracker
	changed    chan struct{}
	pub        *coordstate.Publisher
	follow     *coordstate.Observations
	store      *coordstate.Store
	fence      *coordstate.Fence
	catalog    *gslb.Catalog
	engine     *dnsserver.Engine
	dns        *dnsserver.Server
	api        *api.Server
	runner     *probe.Runner
	metrics    *metrics
	log        *slog.Logger
	mu         sync.Mutex
	leader     coord.Token
	leadCtx    context.Context // ends with the leadership; runbooks run under it
	running    map[string]bool // runs executing: app/run@token
	drivers    map[string]data.Driver
	noDriver   map[string]error // mirror sets this daemon cannot act on, and why (datareach.go)
	reaches    *coordstate.DataReaches
	autoHeld   map[string]string // app → why the leader holds its automatic failover
	localSets  map[string]bool   // mirror sets with a member at this site
	fencedData []selfFence       // local primaries self-fenced, while they still are (selffenced.go)
	dataSets   map[string]api.DataSet
	lastFlush  map[string]data.LSN // each set's newest primary flush seen
	runCtx     context.Context
	// latest is every observer's latest result: app → observer → site.
	latest  map[string]map[string]map[string]probe.Observation
	failing map[failKey]time.Time // first failure of each observer's current failing streak
	healthy map[siteKey]time.Time // when the quorum last saw each site healthy (firstfailure.go)
	repl    replication
	// runbookData is held while the in-region monitor acts; a runbook takes it once
	// to wait for actions in flight (monitor.go).
	runbookData sync.Mutex
	sites       *compute.Sites // the runbooks' Kubernetes side
	conns       map[string]*site.Conn
	observer    []string
}

// New starts the etcd member, binds the DNS and API listeners and prepares the rest;
// Run runs it.
func New(o Options) (*Daemon, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{opts: o, log: o.Log, changed: make(chan struct{}, 1),
		latest: map[string]map[string]map[string]probe.Observation{}, failing: map[failKey]time.Time{},
		healthy: map[siteKey]time.Time{}, conns: map[string]*site.Conn{}, repl: replication{paused: map[string]int{}, running: map[string]*replRun{}}}
	d.site = o.Fleet.Site(o.Site)
	if d.site == nil || d.site.Spec.Daemon == nil {
		return nil, fmt.Errorf("site %s: %w", o.Site, member.ErrNotMember)
	}
	for _, s := range o.Fleet.Sites {
		if s.Spec.Daemon != nil {
			d.observer = append(d.observer, s.Name)
		}
	}
	ok := false
	defer func() {
		if !ok {
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
	if err := d.prepareAPI(); err != nil {
		return nil, err
	}
	d.sites = &compute.Sites{Fleet: o.Fleet, Connect: d.conn, Log: d.log.With("component", "compute")}
	d.localSets = map[string]bool{}
	d.noDriver = map[string]error{}
	d.drivers = d.dataDrivers()
	d.reaches = &coordstate.DataReaches{Client: d.client, Log: d.log}
	d.autoHeld = map[string]string{}
	d.dataSets = map[string]api.DataSet{}
	d.lastFlush = map[string]data.LSN{}
	ok = true
	return d, nil
}

func (d *Daemon) startEtcd() error {
	o := d.opts
	endpoints, tlsCfg := o.EtcdEndpoints, o.EtcdTLS
	if len(endpoints) == 0 {
		cl, err := member.Plan(o.Fleet, o.Site)
		if err != nil {
			return err
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
	cat, err := gslb.Compile(d.opts.Fleet)
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
	d.tracker = &probe.Tracker{OnChange: func(app, site string, v probe.Verdict) {
		d.log.Info("site verdict", "app", app, "site", site, "verdict", v)
		select {
		case d.changed <- struct{}{}:
		default:
		}
	}}
	for _, a := range f.Applications {
		d.tracker.Watch(a.Name, d.observer, probe.AppSites(a), probe.SettingsOf(a.Spec.Health))
	}
	targets, err := probe.Targets(f, d.site.Spec.Region, probe.CheckerOptions{})
	if err != nil {
		return err
	}
	d.pub = coordstate.NewPublisher(d.client, d.log)
	d.runner = &probe.Runner{Observer: d.opts.Site, Targets: targets, Record: d.pub.Record, Log: d.log}
	d.follow = &coordstate.Observations{Client: d.client, Log: d.log, Record: d.record}
	return nil
}

// record takes every observer's result from etcd: into the tracker that decides, and
// into the latest-result table that status shows.
func (d *Daemon) record(ob probe.Observation) {
	d.mu.Lock()
	byObserver := d.latest[ob.App]
	if byObserver == nil {
		byObserver = map[string]map[string]probe.Observation{}
		d.latest[ob.App] = byObserver
	}
	if byObserver[ob.Observer] == nil {
		byObserver[ob.Observer] = map[string]probe.Observation{}
	}
	byObserver[ob.Observer][ob.Site] = ob
	k := failKey{app: ob.App, site: ob.Site, observer: ob.Observer}
	if ob.OK {
		delete(d.failing, k)
	} else if _, ok := d.failing[k]; !ok {
		d.failing[k] = ob.At
	}
	d.mu.Unlock()
	d.tracker.Record(ob)
	d.noteHealthy(ob)
}

func (d *Daemon) prepareAPI() error {
	token, err := d.opts.PKI.Token()
	if d.opts.TokenFile != "" {
		token, err = d.opts.PKI.TokenAt(d.opts.TokenFile)
	}
	if err != nil {
		return err
	}
	tlsCfg, err := d.opts.PKI.ServerTLS(d.opts.Site)
	if err != nil {
		return err
	}
	addr := d.opts.APIListen
	if addr == "" {
		addr = d.site.Spec.Daemon.API.Address
	}
	d.metrics = newMetrics(d)
	d.api, err = api.Listen(api.ServerConfig{Addr: addr, TLS: tlsCfg, Token: token, Log: d.log},
		api.Handlers{Status: d.Status, Metrics: d.metrics.handler(), Runbooks: d.runbookHandlers()})
	return err
}

func (d *Daemon) onFence(fenced bool) {
	if fenced {
		d.log.Warn("no etcd majority: fencing this site out of the DNS answers and its primaries read-only")
		if len(d.drivers) > 0 && d.runCtx != nil {
			go d.fenceLocalData(d.runCtx)
		}
	} else {
		d.log.Info("etcd majority reached: answering for this site")
		if len(d.drivers) > 0 && d.runCtx != nil {
			go d.unfenceLocalData(d.runCtx)
		}
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
	d.mu.Lock()
	d.runCtx = ctx
	d.mu.Unlock()
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
	goRun(d.lead)
	goRun(d.observeData)
	goRun(d.publishDataReach)
	goRun(d.reaches.Run)
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

func (d *Daemon) close() {
	if d.client != nil {
		d.client.Close()
	}
	if d.member != nil {
		d.member.Close()
	}
}

// mainName is the canonical main name of an application.
func mainName(a *gslb.App) string { return strings.ToLower(a.Main) }
