package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/site"
)

const (
	// DefaultReadyTimeout is how long Activate waits for capacity and workloads.
	DefaultReadyTimeout = 2 * time.Minute
	// DefaultPoll is how often readiness is read while waiting.
	DefaultPoll = 250 * time.Millisecond
	// callTimeout bounds one request to a site's API server.
	callTimeout = 15 * time.Second
)

// Sites scales applications' workloads on the fleet's sites: the runbook's Sites.
// Its zero value with a Fleet is ready to use; it must not be copied after first use.
type Sites struct {
	Fleet *fleet.Fleet
	// Connect opens a connection to a site (default: site.Connect with the fleet's
	// site and directory). Connections are cached per site.
	Connect func(siteName string) (*site.Conn, error)
	// ReadyTimeout bounds how long one Activate waits for its capacity and workloads
	// to become ready, in total (default DefaultReadyTimeout); ctx bounds it too.
	ReadyTimeout time.Duration
	// Poll is the interval between readiness reads (default DefaultPoll).
	Poll time.Duration
	// Now is the clock the detail's durations are measured with (default time.Now).
	Now func() time.Time
	Log *slog.Logger

	mu    sync.Mutex
	conns map[string]*conn
}

// conn is a site connection with a REST mapper to resolve capacity kinds.
type conn struct {
	*site.Conn
	mapper meta.ResettableRESTMapper
}

// mapping resolves a kind, refreshing discovery once when it is unknown (a CRD
// installed since the mapper last looked).
func (c *conn) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

func (s *Sites) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Sites) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// conn returns the cached connection to a site, connecting on first use. A failed
// connect is not cached: the next call tries again.
func (s *Sites) conn(name string) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.conns[name]; ok {
		return c, nil
	}
	connect := s.Connect
	if connect == nil {
		connect = func(name string) (*site.Conn, error) {
			fs := s.Fleet.Site(name)
			if fs == nil {
				return nil, retry.Permanent("site %s: %w", name, ErrUnknownSite)
			}
			c, err := site.Connect(fs, s.Fleet.Dir)
			if errors.Is(err, site.ErrNoCluster) {
				return nil, retry.Permanent("%w", err) // a witness has no workloads to scale
			}
			return c, err
		}
	}
	sc, err := connect(name)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: sc}
	if sc.Mapper != nil {
		c.mapper = sc.Mapper
	} else {
		c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(sc.Kube.Discovery()))
	}
	if s.conns == nil {
		s.conns = map[string]*conn{}
	}
	s.conns[name] = c
	return c, nil
}

// target looks up the application and connects to the site.
func (s *Sites) target(appName, siteName string) (*v1alpha1.Application, labels.Selector, *conn, error) {
	if s.Fleet == nil {
		return nil, nil, nil, retry.Permanent("application %s: %w (no fleet)", appName, ErrUnknownApplication)
	}
	app := s.Fleet.Application(appName)
	if app == nil {
		return nil, nil, nil, retry.Permanent("application %s: %w", appName, ErrUnknownApplication)
	}
	sel, err := selectorOf(app)
	if err != nil {
		return nil, nil, nil, retry.Permanent("%w", err)
	}
	c, err := s.conn(siteName)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("connect %s: %w", siteName, err)
	}
	return app, sel, c, nil
}

// Capacity raises the capacity objects of the application's policy at siteName (only
// ever up) and waits until they report their replicas ready: the first thing a planned
// switchover does, before it fences writes, because new nodes take longest. It returns
// one line for the run's record.
func (s *Sites) Capacity(ctx context.Context, appName, siteName string) (string, error) {
	app, _, c, err := s.target(appName, siteName)
	if err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, s.readyTimeout())
	defer cancel()
	caps, err := s.capacity(wctx, ctx, c, app)
	if err != nil {
		return "", err
	}
	if len(caps) == 0 {
		return "no capacity objects in the policy", nil
	}
	var parts []string
	for _, cp := range caps {
		parts = append(parts, cp.String())
	}
	return strings.Join(parts, "; "), nil
}

func (s *Sites) readyTimeout() time.Duration {
	if s.ReadyTimeout <= 0 {
		return DefaultReadyTimeout
	}
	return s.ReadyTimeout
}

// capacity raises app's capacity objects on c and waits for them within wctx (parent
// tells a time-out from a cancelled run).
func (s *Sites) capacity(wctx, parent context.Context, c *conn, app *v1alpha1.Application) ([]capacity, error) {
	objs, err := s.raiseCapacity(wctx, c, app.Spec.Policy.Capacity)
	if err != nil {
		return nil, err
	}
	var caps []capacity
	if err := s.poll(wctx, func(ctx context.Context) (bool, error) {
		now, err := capacityNow(ctx, objs)
		if err != nil {
			return false, err
		}
		caps = now
		return allOK(caps), nil
	}); err != nil {
		return nil, waitError(parent, err, fmt.Sprintf("capacity of %s at %s", app.Name, c.Name), notReady(caps))
	}
	return caps, nil
}

// Activate raises the capacity objects of the application's policy at siteName and
// waits for them (done already when a switchover's capacity step ran), scales the
// application's workloads there to their recorded replicas and applies its deferred
// objects (replicate.Activate), then waits until every workload is ready. It returns
// one line for the run's record.
func (s *Sites) Activate(ctx context.Context, appName, siteName string) (string, error) {
	start := s.now()
	app, sel, c, err := s.target(appName, siteName)
	if err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, s.readyTimeout())
	defer cancel()
	log := s.log().With("app", app.Name, "site", c.Name)

	caps, err := s.capacity(wctx, ctx, c, app)
	if err != nil {
		return "", err
	}

	ns := app.Spec.Namespace
	acts, err := replicate.Activate(ctx, app.Name, ns, c.Conn)
	if err != nil {
		return "", fmt.Errorf("activate %s at %s: %w", app.Name, c.Name, err)
	}
	restored, err := s.restore(ctx, c, app.Name, ns, sel)
	if err != nil {
		return "", err
	}
	log.Info("workloads scaled", "activated", len(acts), "restored", len(restored))

	var ws []readiness
	if err := s.poll(wctx, func(ctx context.Context) (bool, error) {
		now, err := workloadsNow(ctx, c, app.Name, ns, sel)
		if err != nil {
			return false, err
		}
		ws = now
		return allOK(ws), nil
	}); err != nil {
		return "", waitError(ctx, err, fmt.Sprintf("workloads of %s at %s", app.Name, c.Name), notReady(ws))
	}
	d := activateDetail(caps, acts, restored, ws, s.now().Sub(start))
	log.Info("activated", "detail", d)
	return d, nil
}

// restore scales the application's own workloads that a StandBy scaled down back to
// the replicas it recorded; replicate.Activate handles only what replication wrote.
func (s *Sites) restore(ctx context.Context, c *conn, app, ns string, sel labels.Selector) ([]string, error) {
	var out []string
	for _, gvr := range workloadResources {
		l, err := list(ctx, c, gvr, ns)
		if err != nil {
			return out, err
		}
		for i := range l {
			o := &l[i]
			n, ok := restoreTo(app, o)
			if !ok || !belongs(app, sel, o) {
				continue
			}
			name := objectName(gvr, o)
			pctx, cancel := context.WithTimeout(ctx, callTimeout)
			_, err := c.Dynamic.Resource(gvr).Namespace(ns).Patch(pctx, o.GetName(), types.MergePatchType, replicasPatch(n),
				metav1.PatchOptions{FieldManager: site.FieldManager})
			cancel()
			if err != nil {
				return out, fmt.Errorf("restore %s at %s to %d: %w", name, c.Name, n, err)
			}
			out = append(out, fmt.Sprintf("restored %s → %d", name, n))
		}
	}
	return out, nil
}

// StandBy turns the application's workloads at siteName into a stand-by of its style:
// every Deployment and StatefulSet records its replicas, and pilot-light and cold
// scale to zero. HPAs and capacity objects are left alone (see the package comment).
func (s *Sites) StandBy(ctx context.Context, appName, siteName string) (string, error) {
	app, sel, c, err := s.target(appName, siteName)
	if err != nil {
		return "", err
	}
	style := styleOf(app)
	ns := app.Spec.Namespace
	adopted, err := s.adopt(ctx, c, app, sel)
	if err != nil {
		return "", fmt.Errorf("stand-by %s at %s: %w", app.Name, c.Name, err)
	}
	var done []standBy
	unchanged := 0
	for _, gvr := range workloadResources {
		l, err := list(ctx, c, gvr, ns)
		if err != nil {
			return "", fmt.Errorf("stand-by %s at %s: %w", app.Name, c.Name, err)
		}
		for i := range l {
			o := &l[i]
			if !belongs(app.Name, sel, o) {
				continue
			}
			sb := decideStandBy(objectName(gvr, o), o, style)
			if sb.Empty() {
				unchanged++
				continue
			}
			body, err := sb.patch(o.GetResourceVersion())
			if err != nil {
				return "", fmt.Errorf("stand-by %s: %w", sb.Object, err)
			}
			pctx, cancel := context.WithTimeout(ctx, callTimeout)
			_, err = c.Dynamic.Resource(gvr).Namespace(ns).Patch(pctx, o.GetName(), types.MergePatchType, body,
				metav1.PatchOptions{FieldManager: site.FieldManager})
			cancel()
			if apierrors.IsConflict(err) {
				// Changed since it was listed (an autoscaler, a person): the next
				// attempt reads it again.
				return "", retry.Retryable("stand-by %s at %s: %w", sb.Object, c.Name, err)
			}
			if err != nil {
				return "", fmt.Errorf("stand-by %s at %s: %w", sb.Object, c.Name, err)
			}
			done = append(done, sb)
		}
	}
	d := standByDetail(style, done, unchanged)
	if len(adopted) > 0 {
		d += fmt.Sprintf("; %d objects handed over to replication", len(adopted))
	}
	s.log().Info("stood by", "app", app.Name, "site", c.Name, "detail", d)
	return d, nil
}

// workloadsNow reads the readiness of every workload of the application once.
func workloadsNow(ctx context.Context, c *conn, app, ns string, sel labels.Selector) ([]readiness, error) {
	var out []readiness
	for _, gvr := range workloadResources {
		l, err := list(ctx, c, gvr, ns)
		if err != nil {
			return nil, err
		}
		for i := range l {
			if belongs(app, sel, &l[i]) {
				out = append(out, readinessOf(objectName(gvr, &l[i]), &l[i]))
			}
		}
	}
	return out, nil
}

func list(ctx context.Context, c *conn, gvr schema.GroupVersionResource, ns string) ([]unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	l, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s in %s at %s: %w", gvr.Resource, ns, c.Name, err)
	}
	return l.Items, nil
}

func allOK[T interface{ OK() bool }](states []T) bool {
	for _, s := range states {
		if !s.OK() {
			return false
		}
	}
	return true
}

// poll calls check until it reports done or ctx ends. A failed read is tried again
// (an API server restarting); the last one is returned with ctx's error.
func (s *Sites) poll(ctx context.Context, check func(context.Context) (bool, error)) error {
	interval := s.Poll
	if interval <= 0 {
		interval = DefaultPoll
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := check(ctx)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

// waitError turns a wait that ended into the step's error. Running out of time is
// retryable, naming what is not ready; a cancelled run is returned as is.
func waitError(parent context.Context, err error, what, pending string) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", what, parent.Err())
	}
	if pending == "" {
		return retry.Retryable("%s: %w: %w", what, ErrNotReady, err)
	}
	return retry.Retryable("%s: %w: %s (%w)", what, ErrNotReady, pending, err)
}
