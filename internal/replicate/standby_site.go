package replicate

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/internal/site"
)

// standbySite is one stand-by as the replicator sees it: ready once its namespace
// exists and its caches are in; until then its objects wait.
type standbySite struct {
	conn    *site.Conn
	ready   atomic.Bool
	views   []*view // per kind; nil where the kind is not served
	missing []schema.GroupKind
}

// standbyRetry bounds the wait between attempts to reach a stand-by.
const standbyRetry = 5 * time.Second

// startStandby prepares one stand-by, retrying until it answers or ctx ends, then
// queues every active object so that what it lacks is written.
func (r *Replicator) startStandby(ctx context.Context, sb *standbySite) {
	app := r.cfg.App
	ns := app.Spec.Namespace
	log := r.log.With("site", sb.conn.Name)
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := ensureNamespace(ctx, sb.conn, ns, app.Name, r.cfg.Active.Name)
		if err == nil {
			err = r.resolveStandby(sb)
		}
		if err == nil {
			break
		}
		if attempt == 0 {
			log.Warn("stand-by not reachable; its objects wait until it is", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, standbyRetry)
	}
	served := sb.views
	sb.views = make([]*view, len(r.kinds))
	var syncs []cache.InformerSynced
	for i, k := range r.kinds {
		if served[i] == nil {
			continue
		}
		w, err := watchKind(sb.conn, k, ns, r.handler(i))
		if err != nil {
			log.Error("watch stand-by", "err", err)
			return
		}
		defer w.Release()
		sb.views[i] = &view{lister: w.Lister.ByNamespace(ns)}
		syncs = append(syncs, w.Synced)
	}
	start := time.Now()
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		return
	}
	sb.ready.Store(true)
	log.Info("stand-by caches synced", "elapsed", time.Since(start).Round(time.Millisecond))
	// Keys seen while the stand-by was not ready were skipped for it: queue both
	// sides again (the stand-by's own objects may need deleting).
	r.queueAll(r.active)
	r.queueAll(derefViews(sb.views))
	<-ctx.Done()
}

// resolveStandby finds which kinds the stand-by serves. A kind it does not serve is
// recorded (its objects are errors naming the missing CRD); any other failure means
// the stand-by cannot be asked yet.
func (r *Replicator) resolveStandby(sb *standbySite) error {
	served := make([]*view, len(r.kinds))
	var missing []schema.GroupKind
	for i, k := range r.kinds {
		_, err := sb.conn.Mapper.RESTMapping(k.GVK.GroupKind(), k.GVK.Version)
		if err != nil {
			sb.conn.Mapper.Reset()
			_, err = sb.conn.Mapper.RESTMapping(k.GVK.GroupKind(), k.GVK.Version)
		}
		switch {
		case meta.IsNoMatchError(err):
			missing = append(missing, k.GVK.GroupKind())
			r.log.Error("kind not served on stand-by site; its objects cannot be replicated", "site", sb.conn.Name, "kind", k.GVK.GroupKind().String())
		case err != nil:
			return err
		default:
			served[i] = &view{} // its lister comes with the watch
		}
	}
	sb.views, sb.missing = served, missing
	return nil
}

// derefViews returns the served kinds' views (nil views skipped).
func derefViews(vs []*view) []view {
	out := make([]view, len(vs))
	for i, v := range vs {
		if v != nil {
			out[i] = *v
		}
	}
	return out
}

// queueAll puts every object of the views (one per kind) on the queue.
func (r *Replicator) queueAll(views []view) {
	for i, v := range views {
		if v.lister == nil {
			continue
		}
		objs, err := v.list()
		if err != nil {
			continue
		}
		for _, u := range objs {
			r.queue.Add(key{kind: i, namespace: u.GetNamespace(), name: u.GetName()})
		}
	}
}
