package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/internal/standby"
)

// replicationEvery is how often the leader compares what replicates with the active
// site etcd holds; a runbook pauses replication at once, without waiting for it.
const replicationEvery = time.Second

// replication runs the object replicator of each application from its active site to
// its other sites while this daemon leads. A runbook pauses it for its application:
// the replicator must not write the stand-by style back onto a site that is being
// activated, and after the run it starts again from the new active site, so objects
// flow the other way.
type replication struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	store  *coordstate.Store
	conns  *siteConns
	log    *slog.Logger

	mu      sync.Mutex
	paused  map[string]int      // app → runs holding it paused
	running map[string]*replRun // app → the replicator running now
}

type replRun struct {
	active string
	cancel context.CancelFunc
	done   chan struct{}
}

// pauseReplication stops app's replicator and returns a wait for it to have stopped:
// a runbook's first steps (fence, promote) need not wait for it, only the steps that
// scale workloads. resumeReplication undoes one pause.
func (r *replication) pause(app string) (stopped func()) {
	r.mu.Lock()
	r.paused[app]++
	run := r.running[app]
	delete(r.running, app)
	r.mu.Unlock()
	if run == nil {
		return func() {}
	}
	run.cancel()
	return sync.OnceFunc(func() {
		<-run.done
		r.log.Info("replication paused for a runbook", "app", app, "from", run.active)
	})
}

// afterPause is the runbook's Sites once replication towards them has stopped.
type afterPause struct {
	sites   runbook.Sites
	stopped func()
}

// Capacity touches no object that replication writes: no need to wait for the pause.
func (a afterPause) Capacity(ctx context.Context, app, site string) (string, error) {
	return a.sites.Capacity(ctx, app, site)
}

func (a afterPause) Activate(ctx context.Context, app, site string) (string, error) {
	a.stopped()
	return a.sites.Activate(ctx, app, site)
}

func (a afterPause) StandBy(ctx context.Context, app, site string) (string, error) {
	a.stopped()
	return a.sites.StandBy(ctx, app, site)
}

func (r *replication) resume(app string) {
	r.mu.Lock()
	if r.paused[app] > 0 {
		r.paused[app]--
	}
	r.mu.Unlock()
}

// setPaused says whether a runbook runs for an application using set.
func (r *replication) setPaused(set string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.fleet.Applications {
		if a.Spec.Data != nil && a.Spec.Data.MirrorSet == set && r.paused[a.Name] > 0 {
			return true
		}
	}
	return false
}

// lead keeps every replicable application's replicator running from its current
// active site until ctx (the leadership) ends.
func (r *replication) lead(ctx context.Context, _ *term) {
	var apps []*v1alpha1.Application
	for _, a := range r.fleet.Applications {
		if kubeSites(r.fleet, a) {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return
	}
	t := time.NewTicker(replicationEvery)
	defer t.Stop()
	defer r.stop()
	for {
		st, err := r.store.Current(ctx)
		if err == nil {
			for _, a := range apps {
				active := st.Apps[a.Name].Active
				if active == "" {
					active = a.Spec.Policy.ActiveSite
				}
				r.ensure(ctx, a, active)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ensureReplication starts app's replicator from active unless it runs from there
// already or a runbook holds it paused (checked in etcd too: a run another leader
// left open pauses it here as well).
func (r *replication) ensure(ctx context.Context, a *v1alpha1.Application, active string) {
	r.mu.Lock()
	cur, paused := r.running[a.Name], r.paused[a.Name] > 0
	r.mu.Unlock()
	if cur != nil && cur.active == active && !paused {
		return
	}
	if cur != nil {
		r.mu.Lock()
		delete(r.running, a.Name)
		r.mu.Unlock()
		cur.cancel()
		<-cur.done
	}
	if paused {
		return
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Second)
	open, err := runbook.Open(octx, r.client, a.Name)
	cancel()
	if err != nil || open != nil {
		return
	}
	app := activeAt(a, active)
	cfg, err := r.standbyConfig(app)
	if err != nil {
		r.log.Warn("replication not started", "app", a.Name, "err", err)
		return
	}
	rctx, stop := context.WithCancel(ctx)
	run := &replRun{active: active, cancel: stop, done: make(chan struct{})}
	r.mu.Lock()
	if r.paused[a.Name] > 0 || r.running[a.Name] != nil {
		r.mu.Unlock()
		stop()
		return
	}
	r.running[a.Name] = run
	r.mu.Unlock()
	r.log.Info("replicating", "app", a.Name, "from", active, "to", app.Spec.Policy.StandbySites)
	go func() {
		defer close(run.done)
		if err := standby.Run(rctx, cfg); err != nil && rctx.Err() == nil {
			r.log.Warn("replication stopped; restarting", "app", a.Name, "err", err)
			sleep(rctx, 5*time.Second)
			r.mu.Lock()
			if r.running[a.Name] == run {
				delete(r.running, a.Name)
			}
			r.mu.Unlock()
		}
	}()
}

func (r *replication) stop() {
	r.mu.Lock()
	runs := r.running
	r.running = map[string]*replRun{}
	r.mu.Unlock()
	for _, run := range runs {
		run.cancel()
		<-run.done
	}
}

// activeAt is a with active as its active site and every other site as a stand-by:
// the replicator and discovery read the roles from the policy.
func activeAt(a *v1alpha1.Application, active string) *v1alpha1.Application {
	if a.Spec.Policy.ActiveSite == active {
		return a
	}
	c := *a // the policy is a value; its slices are replaced, never written
	p := &c.Spec.Policy
	sites := append([]string{p.ActiveSite}, p.StandbySites...)
	p.ActiveSite, p.StandbySites = active, nil
	for _, s := range sites {
		if s != active {
			p.StandbySites = append(p.StandbySites, s)
		}
	}
	return &c
}

// kubeSites says whether every site of a is a Kubernetes cluster hadron can reach.
func kubeSites(f *fleet.Fleet, a *v1alpha1.Application) bool {
	for _, n := range append([]string{a.Spec.Policy.ActiveSite}, a.Spec.Policy.StandbySites...) {
		s := f.Site(n)
		if s == nil || (s.Spec.Kubeconfig == "" && s.Spec.KubeContext == "") {
			return false
		}
	}
	return true
}

func (r *replication) standbyConfig(app *v1alpha1.Application) (standby.Config, error) {
	active, err := r.conns.get(app.Spec.Policy.ActiveSite)
	if err != nil {
		return standby.Config{}, err
	}
	cfg := standby.Config{App: app, Sites: r.fleet.Sites, Active: active, Log: r.log.With("component", "replicate")}
	for _, s := range app.Spec.Policy.StandbySites {
		c, err := r.conns.get(s)
		if err != nil {
			return standby.Config{}, err
		}
		cfg.Standbys = append(cfg.Standbys, c)
	}
	return cfg, nil
}

// siteConns are the daemon's connections to the sites' Kubernetes APIs, each made
// once: replication and the runs' compute steps share them.
type siteConns struct {
	fleet *fleet.Fleet
	// own is the daemon's own cluster through its own credentials (Options.OwnCluster),
	// used instead of its Site's kubeconfig context.
	own   *site.Conn
	mu    sync.Mutex
	conns map[string]*site.Conn
}

func (c *siteConns) get(name string) (*site.Conn, error) {
	if c.own != nil && name == c.own.Name {
		return c.own, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.conns[name]; conn != nil {
		return conn, nil
	}
	s := c.fleet.Site(name)
	if s == nil {
		return nil, fmt.Errorf("site %s is not in the fleet", name)
	}
	conn, err := site.Connect(s, c.fleet.Dir)
	if err != nil {
		return nil, err
	}
	if c.conns == nil {
		c.conns = map[string]*site.Conn{}
	}
	c.conns[name] = conn
	return conn, nil
}

// kube is the client of site name's cluster (memberpods.Pods.Kube).
func (c *siteConns) kube(name string) (kubernetes.Interface, error) {
	conn, err := c.get(name)
	if err != nil {
		return nil, err
	}
	return conn.Kube, nil
}

// pendingEvery is how often the leader retries making former active sites stand-bys.
const pendingEvery = 10 * time.Second

// pendingStandbys is the leader loop that makes each former active site that a failover could not reach a
// stand-by once it answers (coord.PendingStandbyKey): its workloads scale to the
// stand-by style and its objects pass to the replicator. A site that is active again
// by then (failed back) only has its mark removed.
type pendingStandbys struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	store  *coordstate.Store
	sites  *compute.Sites
	log    *slog.Logger
}

func (p *pendingStandbys) lead(ctx context.Context, t *term) {
	for {
		p.once(ctx, t.tok)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pendingEvery):
		}
	}
}

func (p *pendingStandbys) once(ctx context.Context, tok coord.Token) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := p.client.Get(gctx, coord.PendingDir, clientv3.WithPrefix())
	cancel()
	if err != nil || len(resp.Kvs) == 0 {
		return
	}
	st, err := p.store.Current(ctx)
	if err != nil {
		return
	}
	for _, kv := range resp.Kvs {
		app, site, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), coord.PendingDir), "/")
		a := p.fleet.Application(app)
		if !ok || a == nil {
			continue
		}
		active := st.Apps[app].Active
		if active == "" {
			active = a.Spec.Policy.ActiveSite
		}
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		open, err := runbook.Open(octx, p.client, app)
		cancel()
		if err != nil || open != nil {
			continue // a run decides what the site is now
		}
		if site != active {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			detail, err := p.sites.StandBy(sctx, app, site)
			cancel()
			if err != nil {
				p.log.Debug("former active site not made a stand-by yet", "app", app, "site", site, "err", err)
				continue
			}
			p.log.Info("former active site is a stand-by again", "app", app, "site", site, "detail", detail)
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = coord.Guarded(dctx, p.client, tok, clientv3.OpDelete(string(kv.Key)))
		cancel()
		if coord.IsFenced(err) {
			return
		}
	}
}
