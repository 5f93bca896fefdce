package compute

import (
	"encoding/json"
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// workloadResources are the kinds whose replicas replication records
// (objects.AnnotationActiveReplicas): the ones Activate awaits and StandBy scales.
var workloadResources = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
}

// selectorOf is the application's label selector, everything when it has none: the
// objects the replicator copies from the active site.
func selectorOf(app *v1alpha1.Application) (labels.Selector, error) {
	if app.Spec.Selector == nil {
		return labels.Everything(), nil
	}
	s, err := metav1.LabelSelectorAsSelector(app.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("application %s: selector: %w", app.Name, err)
	}
	return s, nil
}

// belongs says whether o, in the application's namespace, is part of app: replication
// wrote it for app (a stand-by's copy), or it is one of the application's own objects
// (the active site's originals), chosen by the selector as the replicator chooses them.
// What another application's replication or cross-site discovery owns is not.
func belongs(app string, sel labels.Selector, o *unstructured.Unstructured) bool {
	if objects.OwnedBy(o, app) {
		return true
	}
	ann := o.GetAnnotations()
	if ann[objects.AnnotationImportedFrom] != "" {
		return false
	}
	if other := ann[objects.AnnotationApplication]; other != "" && other != app {
		return false
	}
	return sel.Matches(labels.Set(o.GetLabels()))
}

// replicasOf is spec.replicas, 1 when unset (the API server's default).
func replicasOf(o *unstructured.Unstructured) int64 {
	n, found, err := unstructured.NestedInt64(o.Object, "spec", "replicas")
	if !found || err != nil {
		return 1
	}
	return n
}

// objectName names a workload as replicate.Activate does: resource/namespace/name.
func objectName(gvr schema.GroupVersionResource, o *unstructured.Unstructured) string {
	return gvr.Resource + "/" + o.GetNamespace() + "/" + o.GetName()
}

// readiness is how far one workload is from running what its spec asks.
type readiness struct {
	Object      string
	Ready, Want int64
	// Stale: the workload's controller has not yet seen its latest spec, so its
	// status says nothing about it.
	Stale bool
}

// OK says whether the workload runs what it should.
func (r readiness) OK() bool { return !r.Stale && r.Ready >= r.Want }

func (r readiness) String() string {
	s := fmt.Sprintf("%s %d/%d ready", r.Object, r.Ready, r.Want)
	if r.Stale {
		s += " (spec not yet observed)"
	}
	return s
}

// readinessOf reads a Deployment's or StatefulSet's status. Both report
// status.readyReplicas and omit it at zero.
func readinessOf(name string, o *unstructured.Unstructured) readiness {
	ready, _, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
	observed, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
	return readiness{Object: name, Ready: ready, Want: replicasOf(o), Stale: observed < o.GetGeneration()}
}

// restoreTo says to what replicas Activate restores one of the application's own
// workloads that StandBy scaled down at a former active site (a failback). What
// replication wrote is replicate.Activate's; a workload without a recorded count or
// already at it needs nothing.
func restoreTo(app string, o *unstructured.Unstructured) (int64, bool) {
	if objects.OwnedBy(o, app) {
		return 0, false
	}
	n, ok := objects.ActiveReplicas(o)
	if !ok || n == replicasOf(o) {
		return 0, false
	}
	return n, true
}

// styleOf is the application's stand-by style, pilot-light when unset (as replication
// defaults it).
func styleOf(app *v1alpha1.Application) v1alpha1.StandbyStyle {
	if s := app.Spec.Policy.Standby; s != "" {
		return s
	}
	return v1alpha1.StandbyPilotLight
}

// standBy is what StandBy does to one workload.
type standBy struct {
	Object string
	// Record is the replica count to write into the annotation; "" leaves it.
	Record string
	// From is the current replicas; ScaleDown sets them to zero.
	From      int64
	ScaleDown bool
}

// Empty says there is nothing to do: the workload already stands by.
func (s standBy) Empty() bool { return s.Record == "" && !s.ScaleDown }

func (s standBy) String() string {
	switch {
	case s.ScaleDown && s.Record != "":
		return fmt.Sprintf("%s %d → 0 (recorded %s)", s.Object, s.From, s.Record)
	case s.ScaleDown:
		return fmt.Sprintf("%s %d → 0", s.Object, s.From)
	default:
		return fmt.Sprintf("%s recorded %s", s.Object, s.Record)
	}
}

// decideStandBy decides for one workload of the site giving up. Its replicas are
// recorded when no count is recorded yet or when it runs (a count recorded earlier is
// never replaced by zero: a second StandBy must not forget the first one's count);
// pilot-light and cold scale it to zero, warm leaves it running.
func decideStandBy(name string, o *unstructured.Unstructured, style v1alpha1.StandbyStyle) standBy {
	n := replicasOf(o)
	s := standBy{Object: name, From: n}
	recorded, has := objects.ActiveReplicas(o)
	if !has || (n > 0 && recorded != n) {
		s.Record = strconv.FormatInt(n, 10)
	}
	s.ScaleDown = n > 0 && style != v1alpha1.StandbyWarm
	return s
}

// patch is the JSON merge patch carrying s out. resourceVersion makes it conditional:
// if the workload changed since it was read, the API server refuses it.
func (s standBy) patch(resourceVersion string) ([]byte, error) {
	meta := map[string]any{"resourceVersion": resourceVersion}
	if s.Record != "" {
		meta["annotations"] = map[string]any{objects.AnnotationActiveReplicas: s.Record}
	}
	p := map[string]any{"metadata": meta}
	if s.ScaleDown {
		p["spec"] = map[string]any{"replicas": 0}
	}
	return json.Marshal(p)
}

// replicasPatch sets spec.replicas alone.
func replicasPatch(n int64) []byte {
	return []byte(`{"spec":{"replicas":` + strconv.FormatInt(n, 10) + `}}`)
}
