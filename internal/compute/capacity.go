package compute

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/site"
)

// capacityName reads like the fleet file: apiVersion Kind namespace/name.
func capacityName(c v1alpha1.CapacityRef) string {
	return c.APIVersion + " " + c.Kind + " " + c.Namespace + "/" + c.Name
}

// raiseTo is the replicas to set on a capacity object: the policy's count, unless
// its owner already raised it further. Lowering capacity in the middle of a failover
// would take nodes from what is starting.
func raiseTo(current int64, want int32) (int64, bool) {
	if current >= int64(want) {
		return current, false
	}
	return int64(want), true
}

// capacity is one capacity object as Activate saw it.
type capacity struct {
	Name        string
	Ready, Want int64
	// Reported: the object's status has ready replicas. Deployments and StatefulSets
	// always do (omitting zero); another kind without status.readyReplicas counts as
	// up once raised.
	Reported bool
}

// OK says whether the capacity is up.
func (c capacity) OK() bool { return !c.Reported || c.Ready >= c.Want }

func (c capacity) String() string {
	if !c.Reported {
		return fmt.Sprintf("capacity %s → %d", c.Name, c.Want)
	}
	return fmt.Sprintf("capacity %s → %d ready", c.Name, c.Ready)
}

// capacityOf reads a capacity object's ready replicas against want.
func capacityOf(name string, o *unstructured.Unstructured, want int32) capacity {
	c := capacity{Name: name, Want: int64(want)}
	ready, found, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
	gk := o.GroupVersionKind().GroupKind()
	c.Reported = found || (gk.Group == "apps" && (gk.Kind == "Deployment" || gk.Kind == "StatefulSet"))
	c.Ready = ready
	return c
}

// capacityObject is a capacity object resolved on one site.
type capacityObject struct {
	ref v1alpha1.CapacityRef
	res dynamic.ResourceInterface
}

// raiseCapacity resolves every capacity object of the policy on c and raises its
// replicas. A kind the site does not serve or an object it does not have is a
// permanent error naming it: retrying will not create it.
func (s *Sites) raiseCapacity(ctx context.Context, c *conn, refs []v1alpha1.CapacityRef) ([]capacityObject, error) {
	var out []capacityObject
	for _, ref := range refs {
		if ref.APIVersion == "" {
			ref.APIVersion = fleet.DefaultCapacityAPI // a fleet not loaded through fleet.Load
		}
		name := capacityName(ref)
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return nil, retry.Permanent("capacity %s at %s: apiVersion: %w", name, c.Name, err)
		}
		m, err := c.mapping(gv.WithKind(ref.Kind))
		if meta.IsNoMatchError(err) {
			return nil, retry.Permanent("capacity %s at %s: %w: kind not served", name, c.Name, ErrCapacityMissing)
		}
		if err != nil {
			return nil, fmt.Errorf("capacity %s at %s: %w", name, c.Name, err)
		}
		var res dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			res = c.Dynamic.Resource(m.Resource).Namespace(ref.Namespace)
		}
		gctx, cancel := context.WithTimeout(ctx, callTimeout)
		o, err := res.Get(gctx, ref.Name, metav1.GetOptions{})
		cancel()
		if apierrors.IsNotFound(err) {
			return nil, retry.Permanent("capacity %s at %s: %w", name, c.Name, ErrCapacityMissing)
		}
		if err != nil {
			return nil, fmt.Errorf("capacity %s at %s: %w", name, c.Name, err)
		}
		current, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		if n, raise := raiseTo(current, ref.Replicas); raise {
			pctx, cancel := context.WithTimeout(ctx, callTimeout)
			_, err := res.Patch(pctx, ref.Name, types.MergePatchType, replicasPatch(n), metav1.PatchOptions{FieldManager: site.FieldManager})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("capacity %s at %s: scale to %d: %w", name, c.Name, n, err)
			}
			s.log().Info("capacity raised", "site", c.Name, "object", name, "from", current, "to", n)
		}
		out = append(out, capacityObject{ref: ref, res: res})
	}
	return out, nil
}

// capacityNow reads every capacity object once.
func capacityNow(ctx context.Context, objs []capacityObject) ([]capacity, error) {
	out := make([]capacity, 0, len(objs))
	for _, co := range objs {
		gctx, cancel := context.WithTimeout(ctx, callTimeout)
		o, err := co.res.Get(gctx, co.ref.Name, metav1.GetOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("capacity %s: %w", capacityName(co.ref), err)
		}
		out = append(out, capacityOf(capacityName(co.ref), o, co.ref.Replicas))
	}
	return out, nil
}
