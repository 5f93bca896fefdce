package site

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// A site's informers are shared: every user of a kind on the same connection (the
// replicators of a hundred applications, each active on one site and stand-by on
// another) reads one cache filled by one watch, and registers its own handler on it.
// Before, each application opened a watch per kind per site: 16 kinds, 100
// applications and two sites were 3,200 watches and as many copies of the objects.
//
// An informer lives while someone holds it: the last Release stops its watch, so a
// connection needs no Close and a kind no application uses any more is not watched.

// Resync is how often a shared informer replays its cache to the handlers that ask
// for it, in case an event was missed; an in-sync object costs them no request.
const Resync = 10 * time.Minute

// Watch is one user's hold on a shared informer of a kind: a lister over its cache
// and the registration of the user's handler.
type Watch struct {
	// Lister reads the shared cache; it holds every namespace's objects when the
	// informer is cluster-wide.
	Lister cache.GenericLister
	// Synced says when the cache is in and the handler has seen every object of it.
	Synced cache.InformerSynced

	release func()
	once    sync.Once
}

// Release removes the handler; the informer stops with its last holder.
func (w *Watch) Release() { w.once.Do(w.release) }

type informerKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

type sharedInformer struct {
	inf   cache.SharedIndexInformer
	lst   cache.GenericLister
	stop  chan struct{}
	holds int
}

type informers struct {
	mu sync.Mutex
	m  map[informerKey]*sharedInformer
}

// Watch registers h on the connection's informer of gvr in namespace ("" watches
// every namespace), starting the informer if nobody holds it yet. resync is the
// handler's own replay period (0 for none, at most Resync apart). Cached objects carry
// no managedFields: nothing in hadron reads them, and they are often the largest part
// of an object.
func (c *Conn) Watch(gvr schema.GroupVersionResource, namespace string, h cache.ResourceEventHandler, resync time.Duration) (*Watch, error) {
	c.inf.mu.Lock()
	defer c.inf.mu.Unlock()
	k := informerKey{gvr, namespace}
	s := c.inf.m[k]
	if s == nil {
		gi := dynamicinformer.NewFilteredDynamicInformer(c.Dynamic, gvr, namespace, Resync,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil)
		inf := gi.Informer()
		if err := inf.SetTransform(slim); err != nil {
			return nil, fmt.Errorf("site %s: watch %s: %w", c.Name, gvr.Resource, err)
		}
		s = &sharedInformer{inf: inf, lst: gi.Lister(), stop: make(chan struct{})}
		go inf.Run(s.stop)
		if c.inf.m == nil {
			c.inf.m = map[informerKey]*sharedInformer{}
		}
		c.inf.m[k] = s
	}
	reg, err := s.inf.AddEventHandlerWithResyncPeriod(h, resync)
	if err != nil {
		if s.holds == 0 {
			close(s.stop)
			delete(c.inf.m, k)
		}
		return nil, fmt.Errorf("site %s: watch %s: %w", c.Name, gvr.Resource, err)
	}
	s.holds++
	return &Watch{Lister: s.lst, Synced: reg.HasSynced, release: func() {
		c.inf.mu.Lock()
		defer c.inf.mu.Unlock()
		_ = s.inf.RemoveEventHandler(reg) // fails only for a handle of another informer
		s.holds--
		if s.holds == 0 {
			close(s.stop)
			delete(c.inf.m, k)
		}
	}}, nil
}

// Watched returns how many shared informers the connection runs (for tests and
// metrics).
func (c *Conn) Watched() int {
	c.inf.mu.Lock()
	defer c.inf.mu.Unlock()
	return len(c.inf.m)
}

func slim(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if meta, ok := u.Object["metadata"].(map[string]any); ok {
			delete(meta, "managedFields")
		}
	}
	return obj, nil
}
