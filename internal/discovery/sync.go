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
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

var (
	servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	slicesGVR   = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
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

func listServices(ctx context.Context, c *site.Conn, ns string) ([]corev1.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	l, err := c.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("site %s: list services: %w", c.Name, err)
	}
	return l.Items, nil
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
	}{
		{servicesGVR, schema.GroupVersionKind{Version: "v1", Kind: "Service"}},
		{slicesGVR, schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}},
	} {
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		l, err := c.Dynamic.Resource(k.gvr).Namespace(ns).List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("site %s: list %s: %w", c.Name, k.gvr.Resource, err)
		}
		for i := range l.Items {
			o := &l.Items[i]
			o.SetGroupVersionKind(k.gvk)
			if o.GetAnnotations()[objects.AnnotationImportedFrom] != "" || names[objects.RefOf(o)] {
				out = append(out, o)
			}
		}
	}
	return out, nil
}
