package replicate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

// DeferredStoreName is the ConfigMap, in the application's namespace on each stand-by,
// that holds the objects a cold or pilot-light stand-by keeps off the cluster: the
// failover applies them from there, since the active site may be gone by then.
func DeferredStoreName(app string) string { return "hadron-deferred-" + app }

// deferredKey is a ConfigMap key for a Ref (keys allow only [-._a-zA-Z0-9]).
func deferredKey(r objects.Ref) string {
	k := r.Kind
	if r.Group != "" {
		k += "." + r.Group
	}
	return k + "_" + r.Name + ".json"
}

// DeferredObjects reads the objects kept in a deferred store ConfigMap, in apply order.
func DeferredObjects(cm *corev1.ConfigMap) ([]*unstructured.Unstructured, error) {
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*unstructured.Unstructured
	for _, k := range keys {
		var m map[string]any
		if err := json.Unmarshal([]byte(cm.Data[k]), &m); err != nil {
			return nil, fmt.Errorf("deferred store %s: key %s: %w", cm.Name, k, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	sort.SliceStable(out, func(i, j int) bool { return objects.ApplyRank(out[i].GetKind()) < objects.ApplyRank(out[j].GetKind()) })
	return out, nil
}

// deferredStore collects deferred objects per site and writes each site's ConfigMap
// when it changed, at most once a second.
type deferredStore struct {
	app, namespace, source string
	log                    *slog.Logger
	mu                     sync.Mutex
	objects                map[string]map[string]string // site → key → JSON
	dirty                  map[string]bool
}

func newDeferredStore(app, ns, source string, log *slog.Logger) *deferredStore {
	return &deferredStore{app: app, namespace: ns, source: source, log: log,
		objects: map[string]map[string]string{}, dirty: map[string]bool{}}
}

// note records the latest decision for ref on site: kept when deferred, else dropped.
func (s *deferredStore) note(site string, ref objects.Ref, d *Desired) {
	k := deferredKey(ref)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.objects[site]
	if m == nil {
		m = map[string]string{}
		s.objects[site] = m
	}
	if d == nil || d.Outcome != Defer || d.Object == nil {
		if _, ok := m[k]; ok {
			delete(m, k)
			s.dirty[site] = true
		}
		return
	}
	b, err := json.Marshal(d.Object.Object)
	if err != nil {
		return
	}
	if m[k] != string(b) {
		m[k] = string(b)
		s.dirty[site] = true
	}
}

// run writes dirty stores once the replicator has worked through its first queue, so
// a partial store never replaces a complete one at start.
func (s *deferredStore) run(ctx context.Context, sites []*site.Conn, ready func() bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if first && !ready() {
			continue
		}
		for _, c := range sites {
			s.mu.Lock()
			dirty := s.dirty[c.Name] || first
			data := map[string]string{}
			for k, v := range s.objects[c.Name] {
				data[k] = v
			}
			s.dirty[c.Name] = false
			s.mu.Unlock()
			if !dirty {
				continue
			}
			if err := s.write(ctx, c, data); err != nil {
				s.log.Error("writing deferred store failed", "site", c.Name, "err", err)
				s.mu.Lock()
				s.dirty[c.Name] = true
				s.mu.Unlock()
			}
		}
		first = false
	}
}

func (s *deferredStore) write(ctx context.Context, c *site.Conn, data map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	name := DeferredStoreName(s.app)
	if len(data) == 0 {
		err := c.Kube.CoreV1().ConfigMaps(s.namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete deferred store: %w", err)
		}
		return nil
	}
	cm := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": s.namespace,
			"annotations": map[string]any{objects.AnnotationDeferredStore: "true", objects.AnnotationApplication: s.app, objects.AnnotationSourceSite: s.source},
			"labels":      map[string]any{objects.LabelSite: c.Name}},
		"data": data,
	}
	body, err := json.Marshal(cm)
	if err != nil {
		return err
	}
	force := true
	_, err = c.Kube.CoreV1().ConfigMaps(s.namespace).Patch(ctx, name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: site.FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("apply deferred store (%d objects): %w", len(data), err)
	}
	return nil
}

// ensureNamespace creates the application's namespace on a stand-by when missing.
// hadron never deletes a namespace.
func ensureNamespace(ctx context.Context, c *site.Conn, ns, app, source string) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	_, err := c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("site %s: namespace %s: %w", c.Name, ns, err)
	}
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Annotations: map[string]string{objects.AnnotationApplication: app, objects.AnnotationSourceSite: source}}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{FieldManager: site.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("site %s: create namespace %s: %w", c.Name, ns, err)
	}
	return nil
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
