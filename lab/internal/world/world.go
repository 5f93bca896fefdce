package world

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/lab/internal/ingress"
	"hadron.dev/hadron/lab/internal/lbservice"
	"hadron.dev/hadron/lab/internal/links"
	"hadron.dev/hadron/lab/internal/topology"
)

// Options are what the supervisor needs besides the config.
type Options struct {
	Dir Dir
	// LabBinary runs the sites' control planes (`hadron-lab site`); DemoBinary the demo
	// application (`hadron-demo serve`).
	LabBinary    string
	DemoBinary   string
	HadronBinary string // `hadron serve` for the daemons
	// SiteTimeout bounds how long a site's control plane may take to become ready.
	SiteTimeout time.Duration
}

// World is a running lab, owned by the supervisor process.
type World struct {
	cfg  topology.Config
	opts Options
	log  *slog.Logger

	links   *links.Links
	db      *databases
	daemons *Daemons
	corp    *corpDNS
	store   *objectStore
	// images maps an image reference to the tarball the real nodes import; set once
	// imagesDone is closed.
	images     map[string]string
	imagesErr  error
	imagesDone chan struct{}

	mu       sync.Mutex
	sites    map[string]*site
	phase    string
	err      string
	events   []Event
	started  time.Time
	readyDur time.Duration
}

// Event is one line of progress.
type Event struct {
	At  time.Time `json:"at"`
	Msg string    `json:"msg"`
}

// site is one site's processes in the supervisor.
type site struct {
	top     topology.Site
	cp      *proc // control plane (absent for a witness)
	demo    *proc
	ingress *ingress.Ingress
	client  kubernetes.Interface
	failed  bool
	nodes   []*realNode // real worker nodes (lab.yaml realNodes)
	podGW   *podGateway // pods' way to the mirror set (real nodes with the demo)
	// lbsvc serves the site's Services of type LoadBalancer (real nodes).
	lbsvc *lbservice.Controller
}

// Phases of a world's life.
const (
	PhaseStarting = "starting"
	PhaseReady    = "ready"
	PhaseFailed   = "failed"
	PhaseStopping = "stopping"
)

// New prepares a world; Run starts it.
func New(cfg topology.Config, opts Options, log *slog.Logger) *World {
	if opts.SiteTimeout == 0 {
		opts.SiteTimeout = 5 * time.Minute
	}
	w := &World{cfg: cfg, opts: opts, log: log, sites: map[string]*site{}, phase: PhaseStarting, started: time.Now()}
	for _, s := range cfg.Indexed() {
		w.sites[s.Name] = &site{top: s}
	}
	return w
}

func (w *World) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.log.Info(msg)
	w.mu.Lock()
	w.events = append(w.events, Event{At: time.Now(), Msg: msg})
	w.mu.Unlock()
}

func (w *World) setPhase(p, errMsg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase, w.err = p, errMsg
	if p == PhaseReady {
		w.readyDur = time.Since(w.started)
	}
}

// Run starts every part of the world, then blocks until ctx ends and stops them all.
func (w *World) Run(ctx context.Context) error {
	err := w.start(ctx)
	if err != nil {
		w.setPhase(PhaseFailed, err.Error())
		w.event("lab failed to start: %v", err)
	} else {
		w.setPhase(PhaseReady, "")
		w.event("lab ready in %s", time.Since(w.started).Round(100*time.Millisecond))
		<-ctx.Done()
	}
	w.mu.Lock()
	if w.phase != PhaseFailed {
		w.phase = PhaseStopping
	}
	w.mu.Unlock()
	stopCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w.stopAll(stopCtx)
	return err
}

func (w *World) start(ctx context.Context) error {
	d := w.opts.Dir
	for _, p := range []string{d.Logs(), d.CA(), d.Postgres()} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("lab dir: %w", err)
		}
	}
	w.event("starting %d cross-region links (%s one-way latency)", len(w.cfg.Links()), w.cfg.Latency.Duration)
	l, err := links.Start(w.cfg, w.log.With("component", "links"))
	if err != nil {
		return err
	}
	w.links = l
	if w.cfg.RealNodes > 0 {
		if err := kubeletRole(ctx, w.opts.LabBinary); err != nil {
			return err
		}
		w.buildImages()
	}

	// Control planes start in parallel: each takes tens of seconds.
	if err := w.eachSite(func(_ int, s *site) error {
		if !w.cfg.Clustered(s.top) {
			return nil
		}
		return w.startControlPlane(ctx, s)
	}); err != nil {
		return err
	}
	if err := w.writeKubeconfig(); err != nil {
		return err
	}
	if w.cfg.RealNodes > 0 {
		w.event("starting %d real node(s) per workload site (kubelet, containerd, pods on a bridge)", w.cfg.RealNodes)
		if err := w.startRealNodes(ctx); err != nil {
			return err
		}
	}
	if w.cfg.BackupsEnabled() {
		// Before the mirror set: its bootstrap creates the stanza in the store.
		w.store = &objectStore{cfg: w.cfg, dir: d, log: w.log.With("component", "objectstore")}
		if err := w.store.start(ctx, w.opts.LabBinary); err != nil {
			return err
		}
		w.event("object store: S3 over HTTPS on %s in %s's region (objects in memory; `hadron lab link cut SITE objectstore`)",
			w.cfg.ObjectStoreAddr(), w.cfg.ObjectStoreSite().Name)
	}
	if w.cfg.DemoEnabled() {
		w.db = newDatabases(w.cfg, d, w.log.With("component", "postgres"))
		if w.cfg.MemberPods {
			// The gateways are the members' addresses, and the pods make their own
			// data directories: both before the bootstrap, which waits for them.
			for _, s := range w.cfg.Indexed() {
				if s.Workload() {
					if err := w.startPodGateway(w.sites[s.Name]); err != nil {
						return err
					}
				}
			}
			if err := w.startMemberPods(ctx); err != nil {
				return err
			}
			w.event("members in pods: StatefulSets %s in %s", topology.DemoMirrorSet+"-*", topology.DemoNamespace)
		}
		w.event("bootstrapping mirror set %s (%d members)", topology.DemoMirrorSet, len(w.cfg.Members()))
		if err := w.db.bootstrap(ctx); err != nil {
			return err
		}
		// With daemons, the leader runs the in-region monitor itself and stands it
		// aside while a runbook moves the application; a second monitor here would
		// race the runbook's promotion and rejoins.
		if !w.cfg.DaemonsEnabled() {
			go w.db.monitor(ctx)
			w.event("data monitor: automatic in-region failover of %s is on", topology.DemoMirrorSet)
		}
		for _, s := range w.cfg.Indexed() {
			if s.Workload() {
				if err := w.startDemo(ctx, w.sites[s.Name]); err != nil {
					return err
				}
				if err := w.startPods(ctx, w.sites[s.Name]); err != nil {
					return err
				}
			}
		}
	}
	if w.cfg.CorpDNSEnabled() {
		w.corp = newCorpDNS(w.cfg, d, w.log.With("component", "corp-dns"))
		if err := w.corp.start(ctx); err != nil {
			return err
		}
		w.event("company DNS: BIND 9 primary for %s on %s (%s)", topology.DemoZone, w.cfg.CorpDNS(), w.cfg.DNS)
	}
	b, err := w.cfg.FleetYAML(w.paths())
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.Fleet(), b, 0o644); err != nil {
		return fmt.Errorf("write fleet: %w", err)
	}
	w.event("fleet file written to %s", d.Fleet())
	if w.cfg.DaemonsEnabled() {
		w.daemons = NewDaemons(w.cfg, d, w.opts.HadronBinary, w.log.With("component", "daemons"))
		if w.cfg.DaemonPods {
			w.event("installing hadron into %d sites' clusters with its Helm chart (daemons in pods)", len(w.cfg.Sites))
			if err := w.startDaemonPods(ctx); err != nil {
				return err
			}
		} else {
			w.event("starting hadron daemons at %d sites (etcd across regions, probes, DNS)", len(w.cfg.Sites))
			if err := w.daemons.Start(ctx, 2*time.Minute); err != nil {
				return err
			}
		}
		w.event("hadron daemons up: `hadron status -f %s --pki %s`", d.Fleet(), w.daemons.PKIDir())
	}
	if w.cfg.DNS == topology.DNSExternalDNS {
		for _, s := range w.cfg.Indexed() {
			if s.Workload() {
				if err := w.corp.startExternalDNS(ctx, s.Name, d.Site(s.Name), w.opts.HadronBinary, false); err != nil {
					return err
				}
			}
		}
		w.event("external-dns in every workload site: DNSEndpoints → %s", w.cfg.CorpDNS())
	}
	return nil
}

func (w *World) paths() topology.Paths {
	d := w.opts.Dir
	return labPaths(d)
}

// startControlPlane runs `hadron-lab site` for s and waits until it is ready.
func (w *World) startControlPlane(ctx context.Context, s *site) error {
	dir := w.opts.Dir.Site(s.top.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("site %s: %w", s.top.Name, err)
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	if s.cp == nil {
		args := []string{"site",
			"--name", s.top.Name, "--region", s.top.Region,
			"--zones", strings.Join(s.top.ClusterZones(), ","),
			"--ip", s.top.ControlPlaneIP(),
			"--dir", dir, "--ca-dir", w.opts.Dir.CA(),
			"--nodes-per-zone", strconv.Itoa(nodesPerZone(s.top)),
		}
		if s.top.Autoscaler != "" {
			args = append(args, "--autoscaler", s.top.Autoscaler)
		}
		// Other regions reach this API server through their link listeners.
		for _, from := range w.cfg.Indexed() {
			if from.Index != s.top.Index {
				if via, err := topology.Via(from.Index, s.top.Index, s.top.APIServer()); err == nil {
					host, _, _ := strings.Cut(via, ":")
					args = append(args, "--apiserver-san", host)
				}
			}
		}
		s.cp = &proc{name: "site-" + s.top.Name, path: w.opts.LabBinary, args: args, logPath: w.opts.Dir.ProcLog("site-" + s.top.Name), log: w.log}
	}
	w.event("site %s: starting control plane on %s (region %s, zones %s)", s.top.Name, s.top.APIServer(), s.top.Region, strings.Join(s.top.Zones, ","))
	start := time.Now()
	if err := s.cp.start(); err != nil {
		return err
	}
	if err := waitFile(ctx, filepath.Join(dir, "ready"), w.opts.SiteTimeout, s.cp.exited()); err != nil {
		return fmt.Errorf("site %s: control plane not ready: %w (log: %s)", s.top.Name, err, s.cp.logPath)
	}
	client, err := siteClient(dir)
	if err != nil {
		return fmt.Errorf("site %s: %w", s.top.Name, err)
	}
	s.client = client
	w.event("site %s: control plane ready in %s", s.top.Name, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func nodesPerZone(s topology.Site) int {
	if !s.Workload() {
		return 0 // a witness's cluster runs only the daemon's real node
	}
	if s.NodesPerZone == nil {
		return 2
	}
	return *s.NodesPerZone
}

// waitFile polls for path until timeout, or fails early when the process exits.
func waitFile(ctx context.Context, path string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", filepath.Base(path), ctx.Err())
		case <-exited:
			return errors.New("process exited")
		case <-tick.C:
		}
	}
}

// startDemo runs the site's demo application process and its ingress.
func (w *World) startDemo(ctx context.Context, s *site) error {
	if s.demo == nil {
		s.demo = &proc{
			name: "demo-" + s.top.Name, path: w.opts.DemoBinary,
			args:    []string{"serve", "--listen", s.top.Demo(), "--site", s.top.Name, "--dsn", w.db.dsn(s.top)},
			env:     w.db.env(),
			logPath: w.opts.Dir.ProcLog("demo-" + s.top.Name), log: w.log,
		}
	}
	if err := s.demo.start(); err != nil {
		return err
	}
	icfg := ingress.Config{
		Site: s.top.Name, Listen: s.top.Ingress(), Backend: s.top.Demo(),
		Namespace: topology.DemoNamespace, Deployment: topology.DemoDeployment,
		LightApps: w.cfg.Apps > 0,
	}
	if w.cfg.RealNodes > 0 {
		icfg.PodCIDR, icfg.PodPort = s.top.PodCIDR(), topology.PortDemo
	}
	in, err := ingress.Start(context.Background(), icfg, s.client, w.log.With("component", "ingress"))
	if err != nil {
		return err
	}
	s.ingress = in
	w.event("site %s: demo application on %s behind load balancer %s", s.top.Name, s.top.Demo(), s.top.Ingress())
	return nil
}

// stopSite stops everything of one site, in the reverse order of start.
func (w *World) stopSite(ctx context.Context, s *site, crash bool) {
	// A crash takes the whole region at once: its load balancer first, then every
	// process killed without a chance to resign a leadership or finish a request.
	grace := 5 * time.Second
	if crash {
		grace = 0
		if s.ingress != nil {
			_ = s.ingress.Close()
			s.ingress = nil
		}
	}
	// The Services' load balancer goes with the region (a crash: before anything
	// else, as the ingress).
	if s.lbsvc != nil {
		s.lbsvc.Close()
		s.lbsvc = nil
	}
	if w.daemons != nil {
		if err := w.daemons.StopSite(ctx, s.top.Name, grace); err != nil {
			w.log.Warn("stop daemon", "site", s.top.Name, "err", err)
		}
	}
	if w.corp != nil {
		w.corp.stopExternalDNS(ctx, s.top.Name, grace)
	}
	if s.ingress != nil {
		_ = s.ingress.Close()
		s.ingress = nil
	}
	if s.demo != nil {
		if err := s.demo.stop(ctx, grace); err != nil {
			w.log.Warn("stop demo", "site", s.top.Name, "err", err)
		}
	}
	s.podGW.close()
	s.podGW = nil
	w.stopSiteNodes(ctx, s, crash)
	if w.db != nil {
		w.db.stopSite(ctx, s.top.Name)
	}
	if s.cp != nil {
		if err := s.cp.stop(ctx, 20*time.Second); err != nil {
			w.log.Warn("stop control plane", "site", s.top.Name, "err", err)
		}
	}
}

func (w *World) stopAll(ctx context.Context) {
	if w.daemons != nil {
		if err := w.daemons.Stop(ctx); err != nil {
			w.log.Warn("stop daemons", "err", err)
		}
	}
	var wg sync.WaitGroup
	for _, s := range w.sites {
		wg.Add(1)
		go func(s *site) {
			defer wg.Done()
			w.stopSite(ctx, s, false)
		}(s)
	}
	wg.Wait()
	if w.corp != nil {
		w.corp.stop(ctx)
	}
	if w.store != nil {
		w.store.stop(ctx)
	}
	if w.links != nil {
		w.links.Close()
	}
	w.log.Info("lab stopped")
}

// Linger keeps a failed world's socket answering briefly so `hadron lab up` can show
// the error, then returns.
func (w *World) Linger(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}
