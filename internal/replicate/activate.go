package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

// Activation is one thing Activate did on the stand-by.
type Activation struct {
	Object   string `json:"object"`
	Action   string `json:"action"` // "scaled" or "applied"
	Replicas int64  `json:"replicas,omitempty"`
	Err      string `json:"error,omitempty"`
}

var scaledKinds = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
}

// Activate turns a stand-by's copy of an application into a running one: every
// Deployment and StatefulSet that replication wrote is scaled to the replicas
// recorded from the active site, then the objects kept for failover (cold workloads,
// pilot-light autoscalers) are applied from the deferred store, with their replicas
// restored the same way. The failover runbook calls it once capacity is up and after
// replication towards this site has stopped; otherwise the replicator would scale the
// workloads back to the stand-by style. Each object is handled on its own; the error
// joins the failures.
func Activate(ctx context.Context, app, ns string, c *site.Conn) ([]Activation, error) {
	var out []Activation
	var errs []error
	for _, gvr := range scaledKinds {
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		l, err := c.Dynamic.Resource(gvr).Namespace(ns).List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return out, fmt.Errorf("activate %s on %s: list %s: %w", app, c.Name, gvr.Resource, err)
		}
		for i := range l.Items {
			o := &l.Items[i]
			n, ok := objects.ActiveReplicas(o)
			if !ok || !objects.OwnedBy(o, app) {
				continue
			}
			a := Activation{Object: gvr.Resource + "/" + ns + "/" + o.GetName(), Action: "scaled", Replicas: n}
			// A merge patch of spec.replicas alone: a server-side apply of a partial
			// object would drop every other field hadron's apply owns.
			patch := []byte(`{"spec":{"replicas":` + strconv.FormatInt(n, 10) + `}}`)
			pctx, cancel := context.WithTimeout(ctx, applyTimeout)
			_, err := c.Dynamic.Resource(gvr).Namespace(ns).Patch(pctx, o.GetName(), types.MergePatchType, patch,
				metav1.PatchOptions{FieldManager: site.FieldManager})
			cancel()
			if err != nil {
				a.Err = err.Error()
				errs = append(errs, fmt.Errorf("scale %s: %w", a.Object, err))
			}
			out = append(out, a)
		}
	}
	gctx, cancel := context.WithTimeout(ctx, applyTimeout)
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(gctx, DeferredStoreName(app), metav1.GetOptions{})
	cancel()
	if apierrors.IsNotFound(err) {
		return out, errors.Join(errs...)
	}
	if err != nil {
		return out, fmt.Errorf("activate %s on %s: deferred store: %w", app, c.Name, err)
	}
	objs, err := DeferredObjects(cm)
	if err != nil {
		return out, err
	}
	for _, o := range objs {
		a := Activation{Object: objects.RefOf(o).String(), Action: "applied"}
		if n, ok := objects.ActiveReplicas(o); ok && scalable[o.GroupVersionKind().GroupKind()] {
			_ = unstructured.SetNestedField(o.Object, n, "spec", "replicas")
			a.Replicas = n
		}
		if err := applyObject(ctx, c, o); err != nil {
			a.Err = err.Error()
			errs = append(errs, fmt.Errorf("apply %s: %w", a.Object, err))
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

func applyObject(ctx context.Context, c *site.Conn, o *unstructured.Unstructured) error {
	m, err := mapping(c, o.GroupVersionKind())
	if err != nil {
		return err
	}
	body, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	force := true
	_, err = c.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: site.FieldManager, Force: &force})
	return err
}
