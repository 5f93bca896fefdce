package replicate

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/internal/site"
)

// standbySite is one stand-by as the replicator sees it: ready once its namespace
// exists and its caches are in; until then its objects wait.
type standbySite struct {
	conn    *site.Conn
	ready   atomic.Bool
	listers []cache.GenericLister // per kind; nil where the kind is not served
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
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(sb.conn.Dynamic, 0, ns, nil)
	var syncs []cache.InformerSynced
	for i, k := range r.kinds {
		if sb.listers[i] == nil {
			continue
		}
		inf := f.ForResource(k.GVR)
		_ = inf.Informer().SetTransform(slim) // cannot fail before the informer starts
		if _, err := inf.Informer().AddEventHandler(r.handler(i)); err != nil {
			log.Error("watch stand-by", "err", err)
			return
		}
		sb.listers[i] = inf.Lister()
		syncs = append(syncs, inf.Informer().HasSynced)
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	start := time.Now()
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		return
	}
	sb.ready.Store(true)
	log.Info("stand-by caches synced", "elapsed", time.Since(start).Round(time.Millisecond))
	// Keys seen while the stand-by was not ready were skipped for it: queue both
	// sides again (the stand-by's own objects may need deleting).
	r.queueAll(r.active)
	r.queueAll(sb.listers)
	<-ctx.Done()
}

// resolveStandby finds which kinds the stand-by serves. A kind it does not serve is
// recorded (its objects are errors naming the missing CRD); any other failure means
// the stand-by cannot be asked yet.
func (r *Replicator) resolveStandby(sb *standbySite) error {
	listers := make([]cache.GenericLister, len(r.kinds))
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
			listers[i] = placeholder{} // replaced by the informer's lister
		}
	}
	sb.listers, sb.missing = listers, missing
	return nil
}

// placeholder marks a served kind until its informer exists.
type placeholder struct{ cache.GenericLister }

// queueAll puts every object of the listers (one per kind) on the queue.
func (r *Replicator) queueAll(listers []cache.GenericLister) {
	for i, l := range listers {
		if l == nil {
			continue
		}
		objs, err := l.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, o := range objs {
			if u, ok := o.(*unstructured.Unstructured); ok {
				r.queue.Add(key{kind: i, namespace: u.GetNamespace(), name: u.GetName()})
			}
		}
	}
}
