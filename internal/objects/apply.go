package objects

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"hadron.dev/hadron/internal/site"
)

// applyTimeout bounds one write to a site.
const applyTimeout = 15 * time.Second

// Apply carries out one change on the site of c with its client. Updates are
// server-side applies guarded by the resourceVersion the planner saw, and deletes are
// guarded by its UID and resourceVersion: if someone changed the object since (took
// it over, deleted it), the write fails with a conflict instead of overwriting them,
// and the next plan sees the new state.
func Apply(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, c Change) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	res := dyn.Resource(gvr).Namespace(c.Ref.Namespace)
	switch c.Action {
	case ActionCreate, ActionUpdate:
		o := c.Desired.DeepCopy()
		if c.Current != nil {
			o.SetResourceVersion(c.Current.GetResourceVersion())
		}
		body, err := json.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.Action, c.Ref, err)
		}
		force := true
		_, err = res.Patch(ctx, c.Ref.Name, types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: site.FieldManager, Force: &force})
		if err != nil {
			return fmt.Errorf("%s %s on %s: %w", c.Action, c.Ref, c.Site, err)
		}
	case ActionDelete:
		uid, rv := c.Current.GetUID(), c.Current.GetResourceVersion()
		policy := metav1.DeletePropagationBackground
		err := res.Delete(ctx, c.Ref.Name, metav1.DeleteOptions{
			Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
			PropagationPolicy: &policy,
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s on %s: %w", c.Ref, c.Site, err)
		}
	}
	return nil
}
