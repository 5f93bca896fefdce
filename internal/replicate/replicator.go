package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

// Config is what a Replicator needs: the application, connections to its active
// site and to every stand-by site.
type Config struct {
	App      *v1alpha1.Application
	Active   *site.Conn
	Standbys []*site.Conn
	Log      *slog.Logger
	// Workers is how many objects are reconciled at once (default 4).
	Workers int
	// Observe, when set, is called after every decision with its result; the
	// benchmarks and tests use it. It must not block.
	Observe func(c objects.Change, err error)
}

// key names one object of one kind; every site is reconciled for it together.
type key struct {
	kind      int // index into r.kinds
	namespace string
	name      string
}

// Replicator watches an application's objects on the active site and keeps every
// stand-by site in step. It is a level-triggered controller: any event on either
// side puts the object's key on a queue; a worker transforms the active object for
// each stand-by, plans against the stand-by's cached copy and applies the change.
type Replicator struct {
	cfg      Config
	log      *slog.Logger
	kinds    []Kind
	targets  []Target
	active   []view
	standbys []*standbySite
	queue    workqueue.TypedRateLimitingInterface[key]
	synced   atomic.Bool
	deferred *deferredStore

	mu       sync.Mutex
	last     map[string]map[objects.Ref]objects.Change // site → ref → the latest problem (conflict, error, failed write)
	counts   map[objects.Action]int
	warnings []string
}

// New resolves the application's kinds on every site and compiles its rules.
func New(cfg Config) (*Replicator, error) {
	app := cfg.App
	if cfg.Active == nil {
		return nil, fmt.Errorf("replicate %s: %w", app.Name, ErrNoActive)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	rules, err := CompileRules(app.Spec.Replication)
	if err != nil {
		return nil, fmt.Errorf("replicate %s: %w", app.Name, err)
	}
	gvks, err := Kinds(app)
	if err != nil {
		return nil, err
	}
	r := &Replicator{
		cfg: cfg, log: cfg.Log.With("app", app.Name, "active", cfg.Active.Name),
		queue:  workqueue.NewTypedRateLimitingQueue(retryLimiter()),
		last:   map[string]map[objects.Ref]objects.Change{},
		counts: map[objects.Action]int{},
	}
	var missing []schema.GroupKind
	r.kinds, missing = resolve(cfg.Active, gvks, r.log)
	for _, gk := range missing {
		r.log.Debug("kind not served on the active site; not replicated", "kind", gk.String())
	}
	for _, s := range cfg.Standbys {
		r.targets = append(r.targets, TargetFor(app, cfg.Active.Name, s.Name, rules))
		r.last[s.Name] = map[objects.Ref]objects.Change{}
		r.standbys = append(r.standbys, &standbySite{conn: s})
	}
	r.deferred = newDeferredStore(app.Name, app.Spec.Namespace, cfg.Active.Name, r.log)
	return r, nil
}

// resync re-reconciles every object now and then, in case an event was missed; an
// in-sync object costs no request.
const resync = 10 * time.Minute

// retryLimiter retries a failed object after 100ms, doubling up to 30s: a stand-by
// that was unreachable for an hour is caught up within 30s of its return, where the
// client-go default would wait up to 16 minutes.
func retryLimiter() workqueue.TypedRateLimiter[key] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[key](100*time.Millisecond, 30*time.Second)
}

// Run registers on the sites' shared informers, waits for every cache, then
// reconciles until ctx ends.
func (r *Replicator) Run(ctx context.Context) error {
	app := r.cfg.App
	ns := app.Spec.Namespace
	sel := labels.Everything()
	if app.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(app.Spec.Selector)
		if err != nil {
			return fmt.Errorf("replicate %s: selector: %w", app.Name, err)
		}
		sel = s
	}
	var syncs []cache.InformerSynced
	var watches []*site.Watch
	defer func() {
		r.queue.ShutDown()
		for _, w := range watches {
			w.Release()
		}
	}()
	for i, k := range r.kinds {
		// The policy's Secrets are named, not selected: a TLS secret made by
		// cert-manager does not carry the application's labels.
		ksel := sel
		if isSecret(k.GVK) {
			ksel = nil
		}
		w, err := watchKind(r.cfg.Active, k, ns, r.handler(i))
		if err != nil {
			return fmt.Errorf("replicate %s: %w", app.Name, err)
		}
		watches = append(watches, w)
		r.active = append(r.active, view{w.Lister.ByNamespace(ns), ksel})
		syncs = append(syncs, w.Synced)
	}
	start := time.Now()
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil // stopped while starting: not a failure
		}
		return fmt.Errorf("replicate %s: caches did not sync: %w", app.Name, ctx.Err())
	}
	r.log.Info("active site's caches synced", "kinds", len(r.kinds), "elapsed", time.Since(start).Round(time.Millisecond))
	if n := r.sourceCount(); n == 0 {
		r.warn(fmt.Sprintf("selector %q matches no objects in namespace %s on %s: nothing to replicate", sel.String(), ns, r.cfg.Active.Name))
	}
	r.synced.Store(true)

	var wg sync.WaitGroup
	// Each stand-by comes up on its own: one that cannot be reached (a cut link, a
	// region down) does not hold back the others, and catches up when it returns.
	for _, sb := range r.standbys {
		wg.Go(func() { r.startStandby(ctx, sb) })
	}
	for range r.cfg.Workers {
		wg.Go(func() {
			for r.next(ctx) {
			}
		})
	}
	wg.Go(func() { r.deferred.run(ctx, r.cfg.Standbys, r.Idle) })
	<-ctx.Done()
	r.queue.ShutDown()
	wg.Wait()
	return nil
}

func isSecret(gvk schema.GroupVersionKind) bool { return gvk.Group == "" && gvk.Kind == "Secret" }

// watchKind hands h the events of a kind in ns from the site's shared informer: one
// per kind for the whole cluster, so that a hundred applications cost one watch,
// except Secrets, which are watched per namespace — hadron reads no Secret outside its
// applications' namespaces, and needs no right to.
func watchKind(c *site.Conn, k Kind, ns string, h cache.ResourceEventHandler) (*site.Watch, error) {
	return c.Watch(k.GVR, ns, isSecret(k.GVK), h)
}

// view is one kind of one site as a replicator sees it: the objects of the
// application's namespace in the shared cache, and of a selected kind only those
// the selector matches (an object that stops matching is gone for the replicator,
// as it would be from a filtered watch).
type view struct {
	lister cache.GenericNamespaceLister
	sel    labels.Selector // nil: every object
}

func (v view) get(name string) (*unstructured.Unstructured, error) {
	o, err := v.lister.Get(name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected object type %T", o)
	}
	if v.sel != nil && !v.sel.Matches(labels.Set(u.GetLabels())) {
		return nil, nil
	}
	return u, nil
}

func (v view) list() ([]*unstructured.Unstructured, error) {
	sel := v.sel
	if sel == nil {
		sel = labels.Everything()
	}
	objs, err := v.lister.List(sel)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// sourceCount counts the active site's cached objects (Secrets only when named).
func (r *Replicator) sourceCount() int {
	n := 0
	for i, v := range r.active {
		objs, err := v.list()
		if err != nil {
			continue
		}
		if isSecret(r.kinds[i].GVK) {
			for _, u := range objs {
				if len(r.targets) > 0 && r.targets[0].Secrets[u.GetName()] {
					n++
				}
			}
			continue
		}
		n += len(objs)
	}
	return n
}

func (r *Replicator) warn(msg string) {
	r.log.Warn(msg)
	r.mu.Lock()
	r.warnings = append(r.warnings, msg)
	r.mu.Unlock()
}

// Warnings returns what the replicator found wrong with the application as a whole
// (a selector that matches nothing).
func (r *Replicator) Warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}

// Synced says whether the initial caches are in and reconciling has begun.
func (r *Replicator) Synced() bool { return r.synced.Load() }

// Idle says whether every site's cache is in and the queue is empty: every event
// seen so far has been handled.
func (r *Replicator) Idle() bool {
	if !r.synced.Load() || r.queue.Len() != 0 {
		return false
	}
	for _, sb := range r.standbys {
		if !sb.ready.Load() {
			return false
		}
	}
	return true
}

// Problems returns the latest decisions that are not in sync and were not carried
// out (conflicts, errors), per site.
func (r *Replicator) Problems() []objects.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []objects.Change
	for _, m := range r.last {
		for _, c := range m {
			out = append(out, c)
		}
	}
	objects.SortChanges(out)
	return out
}

// Counts returns how many changes of each action were carried out since start.
func (r *Replicator) Counts() map[objects.Action]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[objects.Action]int, len(r.counts))
	for k, v := range r.counts {
		m[k] = v
	}
	return m
}

// handler queues the events of one kind (the site's informer hands it those of the
// application's namespace).
func (r *Replicator) handler(kind int) cache.ResourceEventHandler {
	add := func(obj any) {
		if o, ok := obj.(*unstructured.Unstructured); ok {
			r.queue.Add(key{kind: kind, namespace: o.GetNamespace(), name: o.GetName()})
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, o any) { add(o) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			add(obj)
		},
	}
}

func (r *Replicator) next(ctx context.Context) bool {
	k, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(k)
	if err := r.reconcile(ctx, k); err != nil {
		r.queue.AddRateLimited(k)
		return true
	}
	r.queue.Forget(k)
	return true
}

// reconcile brings one object in step on every stand-by site. A failure on one site
// does not stop the others; the key is retried with back-off.
func (r *Replicator) reconcile(ctx context.Context, k key) error {
	kind := r.kinds[k.kind]
	src, err := r.active[k.kind].get(k.name)
	if err != nil {
		return err
	}
	var errs []error
	for i, sb := range r.standbys {
		s := sb.conn
		if !sb.ready.Load() {
			continue // every key is queued again once the stand-by's cache is in
		}
		var d *Desired
		if src != nil {
			t := Transform(src, r.targets[i])
			d = &t
		}
		v := sb.views[k.kind]
		if v == nil {
			if d != nil && d.Outcome == Apply {
				err := fmt.Errorf("%s on %s: %w: %s (install it on %s)", d.Ref, s.Name, ErrUnknownKind, kind.GVK.GroupKind(), s.Name)
				r.record(objects.Change{Site: s.Name, Ref: d.Ref, Action: objects.ActionError, Reason: err.Error(), Err: err}, nil)
			}
			continue
		}
		cur, err := v.get(k.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.deferred.note(s.Name, objects.Ref{Group: kind.GVK.Group, Kind: kind.GVK.Kind, Namespace: k.namespace, Name: k.name}, d)
		c, ok := Decide(r.cfg.App.Name, s.Name, d, cur)
		if !ok {
			r.forget(s.Name, objects.Ref{Group: kind.GVK.Group, Kind: kind.GVK.Kind, Namespace: k.namespace, Name: k.name})
			continue
		}
		var applyErr error
		if c.Mutates() {
			applyErr = objects.Apply(ctx, s.Dynamic, kind.GVR, c)
			if applyErr != nil {
				errs = append(errs, applyErr)
			}
		}
		r.record(c, applyErr)
	}
	return errors.Join(errs...)
}

// record logs a decision (never the object's content) and keeps the problems.
func (r *Replicator) record(c objects.Change, err error) {
	if r.cfg.Observe != nil {
		r.cfg.Observe(c, err)
	}
	r.mu.Lock()
	if c.Mutates() && err == nil {
		r.counts[c.Action]++
	}
	// Only what needs a person is kept (conflicts, errors, failed writes), without
	// the objects themselves: the caches already hold them.
	if problem := c.Action == objects.ActionConflict || c.Action == objects.ActionError || err != nil; !problem {
		delete(r.last[c.Site], c.Ref)
	} else {
		c.Err = errors.Join(c.Err, err)
		c.Desired, c.Current = nil, nil
		prev, seen := r.last[c.Site][c.Ref]
		r.last[c.Site][c.Ref] = c
		if seen && err == nil && prev.Action == c.Action && prev.Reason == c.Reason {
			r.mu.Unlock()
			return // already said
		}
	}
	r.mu.Unlock()
	attrs := []any{"site", c.Site, "object", c.Ref.String(), "action", string(c.Action)}
	if c.Reason != "" {
		attrs = append(attrs, "reason", c.Reason)
	}
	switch {
	case err != nil:
		r.log.Error("replication failed", append(attrs, "err", err)...)
	case c.Action == objects.ActionError:
		r.log.Error("object cannot be replicated", attrs...)
	case c.Action == objects.ActionConflict:
		r.log.Warn("object on stand-by not owned by hadron", attrs...)
	case c.Mutates():
		r.log.Info("replicated", attrs...)
	case c.Action == objects.ActionDeferred:
		r.log.Debug("kept for failover", attrs...)
	}
}

func (r *Replicator) forget(site string, ref objects.Ref) {
	r.mu.Lock()
	delete(r.last[site], ref)
	r.mu.Unlock()
}
