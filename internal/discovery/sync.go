package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

var (
	servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	slicesGVR   = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
	serviceGVK  = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	sliceGVK    = schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}
)

const callTimeout = 15 * time.Second

// Member is one site of the application with its connection.
type Member struct {
	Site *v1alpha1.Site
	Conn *site.Conn
}

// Members returns the application's workload sites (active first, then stand-bys)
// that have a connection in conns.
func Members(app *v1alpha1.Application, sites []*v1alpha1.Site, conns map[string]*site.Conn) []Member {
	names := append([]string{app.Spec.Policy.ActiveSite}, app.Spec.Policy.StandbySites...)
	var out []Member
	for _, n := range names {
		for _, s := range sites {
			if s.Name == n && conns[n] != nil {
				out = append(out, Member{Site: s, Conn: conns[n]})
			}
		}
	}
	return out
}

// Sync makes every member hold the imports of the Services the other members
// export, and removes imports whose export went away. Each site's changes are applied
// on their own; the returned changes include in-sync and conflicting ones.
func Sync(ctx context.Context, app *v1alpha1.Application, members []Member, dryRun bool, log *slog.Logger) ([]objects.Change, error) {
	if log == nil {
		log = slog.Default()
	}
	ns := app.Spec.Namespace
	var exports []Export
	exporting := map[string]map[string]bool{} // site → services it exports itself
	var errs []error
	for _, m := range members {
		svcs, err := listServices(ctx, m.Conn, ns)
		if err != nil {
			return nil, err
		}
		exporting[m.Site.Name] = map[string]bool{}
		for _, e := range FindExports(app, m.Site, svcs) {
			exporting[m.Site.Name][e.Service] = true
			if e.Err != nil {
				errs = append(errs, e.Err)
				continue
			}
			exports = append(exports, e)
		}
	}
	chosen := Choose(exports, app.Spec.Policy.ActiveSite)
	var all []objects.Change
	for _, m := range members {
		var desired []*unstructured.Unstructured
		for name, e := range chosen {
			if e.Site == m.Site.Name || exporting[m.Site.Name][name] {
				continue
			}
			objs, err := Imports(app.Name, e, m.Site.Name, m.Site.Spec.Region)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			desired = append(desired, objs...)
		}
		current, err := listImportCandidates(ctx, m.Conn, ns, desired)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changes := Plan(app.Name, m.Site.Name, desired, current)
		for _, c := range changes {
			if dryRun || !c.Mutates() {
				if c.Action == objects.ActionConflict {
					log.Warn("import not owned by hadron", "site", c.Site, "object", c.Ref.String(), "reason", c.Reason)
				}
				continue
			}
			gvr := servicesGVR
			if c.Ref.Kind == "EndpointSlice" {
				gvr = slicesGVR
			}
			if err := objects.Apply(ctx, m.Conn.Dynamic, gvr, c); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Info("import", "site", c.Site, "object", c.Ref.String(), "action", string(c.Action), "reason", c.Reason)
		}
		all = append(all, changes...)
	}
	return all, errors.Join(errs...)
}

// Watch holds the site's shared informers of what Sync reads — Services and
// EndpointSlices — in every member while it runs, so that Sync, every few seconds for
// every application, reads their caches instead of listing from each API server
// (three lists per site per application per round). The replicator already watches
// Services; EndpointSlices are watched for discovery alone. release lets them go.
func Watch(app *v1alpha1.Application, members []Member) (release func(), err error) {
	var held []*site.Watch
	release = func() {
		for _, w := range held {
			w.Release()
		}
	}
	for _, m := range members {
		for _, gvr := range []schema.GroupVersionResource{servicesGVR, slicesGVR} {
			w, err := m.Conn.Watch(gvr, app.Spec.Namespace, false, cache.ResourceEventHandlerFuncs{})
			if err != nil {
				release()
				return func() {}, fmt.Errorf("discovery %s: %w", app.Name, err)
			}
			held = append(held, w)
		}
	}
	return release, nil
}

// list returns the namespace's objects of gvr from the site's shared cache when one
// is in (copies: callers may change them), else from the API server.
func list(ctx context.Context, c *site.Conn, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind, ns string, keep func(*unstructured.Unstructured) bool) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	if objs, ok := c.Cached(gvr, ns, false, labels.Everything()); ok {
		for _, o := range objs {
			if keep(o) {
				o = o.DeepCopy()
				o.SetGroupVersionKind(gvk)
				out = append(out, o)
			}
		}
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	l, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("site %s: list %s: %w", c.Name, gvr.Resource, err)
	}
	for i := range l.Items {
		o := &l.Items[i]
		if keep(o) {
			o.SetGroupVersionKind(gvk)
			out = append(out, o)
		}
	}
	return out, nil
}

func listServices(ctx context.Context, c *site.Conn, ns string) ([]corev1.Service, error) {
	objs, err := list(ctx, c, servicesGVR, serviceGVK, ns, func(*unstructured.Unstructured) bool { return true })
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Service, len(objs))
	for i, o := range objs {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &out[i]); err != nil {
			return nil, fmt.Errorf("site %s: service %s/%s: %w", c.Name, ns, o.GetName(), err)
		}
	}
	return out, nil
}

// listImportCandidates returns the site's imported Services and EndpointSlices, and
// any object named like a desired import (to find conflicts).
func listImportCandidates(ctx context.Context, c *site.Conn, ns string, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	names := map[objects.Ref]bool{}
	for _, d := range desired {
		names[objects.RefOf(d)] = true
	}
	var out []*unstructured.Unstructured
	for _, k := range []struct {
		gvr schema.GroupVersionResource
		gvk schema.GroupVersionKind
	}{{servicesGVR, serviceGVK}, {slicesGVR, sliceGVK}} {
		objs, err := list(ctx, c, k.gvr, k.gvk, ns, func(o *unstructured.Unstructured) bool {
			if o.GetAnnotations()[objects.AnnotationImportedFrom] != "" {
				return true
			}
			// The kind from the resource: a listed item may not carry one yet.
			return names[objects.Ref{Group: k.gvk.Group, Kind: k.gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}]
		})
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}
