package site

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// A site's informers are shared: every user of a kind on the same connection (the
// replicators of a hundred applications, each active on one site and stand-by on
// another) reads one cache filled by one watch. Before, each application opened a
// watch per kind per site: 16 kinds, 100 applications and two sites were 3,200 watches
// and as many copies of the objects.
//
// Each informer also has a single handler, which hands every event to the users of
// the object's namespace: a handler registered with client-go costs two goroutines and
// a ring buffer of 1,024 slots (24 KB) however few events it sees, which at 3,200
// registrations was most of the leader's heap.
//
// An informer lives while someone holds it: the last Release stops its watch, so a
// connection needs no Close and a kind no application uses any more is not watched.

// Resync is how often a shared informer replays its cache to its users, in case an
// event was missed; an in-sync object costs them no request.
const Resync = 10 * time.Minute

// Watch is one user's hold on a shared informer of a kind: a lister over its cache and
// the user's handler, called with the events of its namespace.
type Watch struct {
	// Lister reads the shared cache; it holds every namespace's objects when the
	// informer is cluster-wide.
	Lister cache.GenericLister

	synced  atomic.Bool
	release func()
	once    sync.Once
}

// Synced says when the cache is in and the handler has been handed every object of
// its namespace in it.
func (w *Watch) Synced() bool { return w.synced.Load() }

// Release stops the handler's events; the informer stops with its last holder.
func (w *Watch) Release() { w.once.Do(w.release) }

type informerKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

type subscriber struct {
	h    cache.ResourceEventHandler
	gone atomic.Bool // released: events already on their way are dropped
}

type sharedInformer struct {
	inf  cache.SharedIndexInformer
	lst  cache.GenericLister
	stop chan struct{}

	mu   sync.RWMutex
	subs map[string]map[*subscriber]bool // namespace → users
	n    int
}

type informers struct {
	mu sync.Mutex
	m  map[informerKey]*sharedInformer
}

// Watch hands h the events of gvr's objects in namespace, from the connection's
// informer of the kind — cluster-wide, or of that namespace alone when perNamespace
// (hadron lists Secrets only in its applications' namespaces) — starting the informer
// if nobody holds it yet. A user that comes after the cache is in is handed the
// namespace's objects as additions first, as a new informer would. Cached objects
// carry no managedFields: nothing in hadron reads them, and they are often the
// largest part of an object.
func (c *Conn) Watch(gvr schema.GroupVersionResource, namespace string, perNamespace bool, h cache.ResourceEventHandler) (*Watch, error) {
	scope := ""
	if perNamespace {
		scope = namespace
	}
	k := informerKey{gvr, scope}
	c.inf.mu.Lock()
	defer c.inf.mu.Unlock()
	s := c.inf.m[k]
	if s == nil {
		gi := dynamicinformer.NewFilteredDynamicInformer(c.Dynamic, gvr, scope, Resync,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil)
		s = &sharedInformer{inf: gi.Informer(), lst: gi.Lister(), stop: make(chan struct{}), subs: map[string]map[*subscriber]bool{}}
		if err := s.inf.SetTransform(slim); err != nil {
			return nil, fmt.Errorf("site %s: watch %s: %w", c.Name, gvr.Resource, err)
		}
		if _, err := s.inf.AddEventHandler(s); err != nil {
			return nil, fmt.Errorf("site %s: watch %s: %w", c.Name, gvr.Resource, err)
		}
		go s.inf.Run(s.stop)
		if c.inf.m == nil {
			c.inf.m = map[informerKey]*sharedInformer{}
		}
		c.inf.m[k] = s
	}
	sub := &subscriber{h: h}
	s.mu.Lock()
	if s.subs[namespace] == nil {
		s.subs[namespace] = map[*subscriber]bool{}
	}
	s.subs[namespace][sub] = true
	s.n++
	s.mu.Unlock()
	w := &Watch{Lister: s.lst}
	w.release = func() {
		sub.gone.Store(true)
		c.inf.mu.Lock()
		defer c.inf.mu.Unlock()
		s.mu.Lock()
		delete(s.subs[namespace], sub)
		if len(s.subs[namespace]) == 0 {
			delete(s.subs, namespace)
		}
		s.n--
		last := s.n == 0
		s.mu.Unlock()
		if last {
			close(s.stop)
			delete(c.inf.m, k)
		}
	}
	go s.replay(sub, namespace, w)
	return w, nil
}

// replay hands a new user the namespace's cached objects once the cache is in. Events
// that reach it meanwhile may name the same objects: its users queue keys, so an object
// seen twice costs nothing.
func (s *sharedInformer) replay(sub *subscriber, namespace string, w *Watch) {
	if !cache.WaitForCacheSync(s.stop, s.inf.HasSynced) {
		return
	}
	objs, err := s.inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	if err != nil {
		return // only an unknown index fails, and the index is ours
	}
	for _, o := range objs {
		if sub.gone.Load() {
			return
		}
		sub.h.OnAdd(o, true)
	}
	w.synced.Store(true)
}

// OnAdd, OnUpdate and OnDelete make the shared informer its own single handler.
func (s *sharedInformer) OnAdd(obj any, initial bool) {
	s.each(obj, func(h cache.ResourceEventHandler) { h.OnAdd(obj, initial) })
}

func (s *sharedInformer) OnUpdate(old, obj any) {
	s.each(obj, func(h cache.ResourceEventHandler) { h.OnUpdate(old, obj) })
}

func (s *sharedInformer) OnDelete(obj any) {
	s.each(obj, func(h cache.ResourceEventHandler) { h.OnDelete(obj) })
}

func (s *sharedInformer) each(obj any, f func(cache.ResourceEventHandler)) {
	ns := namespaceOf(obj)
	s.mu.RLock()
	subs := make([]*subscriber, 0, len(s.subs[ns]))
	for sub := range s.subs[ns] {
		subs = append(subs, sub)
	}
	s.mu.RUnlock()
	for _, sub := range subs {
		if !sub.gone.Load() {
			f(sub.h)
		}
	}
}

// namespaceOf reads the namespace of an object or of a deletion's tombstone, whose
// object may be gone and whose key is namespace/name.
func namespaceOf(obj any) string {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		if t.Obj != nil {
			obj = t.Obj
		} else {
			ns, _, namespaced := strings.Cut(t.Key, "/")
			if !namespaced {
				return ""
			}
			return ns
		}
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetNamespace()
	}
	return ""
}

// Cached returns the namespace's objects of gvr from the connection's informer of the
// kind when one runs and its cache is in, so that a periodic look at an application
// (the leader's readiness check) reads what replication already holds instead of
// listing every kind of every application from the API server. The objects are the
// cache's own: callers must not change them.
func (c *Conn) Cached(gvr schema.GroupVersionResource, namespace string, perNamespace bool, sel labels.Selector) ([]*unstructured.Unstructured, bool) {
	scope := ""
	if perNamespace {
		scope = namespace
	}
	c.inf.mu.Lock()
	s := c.inf.m[informerKey{gvr, scope}]
	c.inf.mu.Unlock()
	if s == nil || !s.inf.HasSynced() {
		return nil, false
	}
	objs, err := s.lst.ByNamespace(namespace).List(sel)
	if err != nil {
		return nil, false
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out, true
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
		if md, ok := u.Object["metadata"].(map[string]any); ok {
			delete(md, "managedFields")
		}
	}
	return obj, nil
}
