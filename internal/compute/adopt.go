package compute

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// A site that was active holds the application's own objects, which replication
// leaves alone (it never takes over an object it did not write). Making the site a
// stand-by is the decision to hand them over: StandBy marks every object of the
// application there as replicated for it, and the replicator from the new active site
// keeps them in step from then on.

// adoptable says whether o, an object of app's kinds matching its selector, is to be
// handed over: not already hadron's, not another application's, not an import or
// hadron's own bookkeeping.
func adoptable(o *unstructured.Unstructured) bool {
	ann := o.GetAnnotations()
	return ann[objects.AnnotationApplication] == "" && ann[objects.AnnotationImportedFrom] == "" &&
		ann[objects.AnnotationDeferredStore] == ""
}

// adopt marks the application's unowned objects at c as replicated for it.
func (s *Sites) adopt(ctx context.Context, c *conn, app *v1alpha1.Application, sel labels.Selector) ([]string, error) {
	kinds, err := replicate.Kinds(app)
	if err != nil {
		return nil, err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		objects.AnnotationApplication: app.Name}}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, gvk := range kinds {
		m, err := c.mapping(gvk)
		if meta.IsNoMatchError(err) {
			continue // a kind this site does not serve has nothing to hand over
		}
		if err != nil {
			return out, fmt.Errorf("adopt %s at %s: %w", gvk.Kind, c.Name, err)
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		l, err := c.Dynamic.Resource(m.Resource).Namespace(app.Spec.Namespace).List(lctx, metav1.ListOptions{LabelSelector: sel.String()})
		cancel()
		if err != nil {
			return out, fmt.Errorf("adopt %s at %s: %w", m.Resource.Resource, c.Name, err)
		}
		for i := range l.Items {
			o := &l.Items[i]
			if !adoptable(o) {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, callTimeout)
			_, err := c.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()).Patch(pctx, o.GetName(), types.MergePatchType, patch,
				metav1.PatchOptions{FieldManager: site.FieldManager})
			cancel()
			if err != nil {
				return out, fmt.Errorf("adopt %s/%s at %s: %w", m.Resource.Resource, o.GetName(), c.Name, err)
			}
			out = append(out, m.Resource.Resource+"/"+o.GetName())
		}
	}
	return out, nil
}
