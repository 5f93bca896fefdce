package replicate

import (
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// applyStyle applies the stand-by style to a transformed object. Every scalable
// workload records the active site's replicas (default 1, as the API server
// defaults) so a failover can restore them; pilot-light sets them to zero and defers
// the autoscaler, whose minimum would scale them straight back up; cold defers every
// workload, so only configuration, services and storage claims sit on the stand-by.
func applyStyle(o *unstructured.Unstructured, style v1alpha1.StandbyStyle) (Outcome, string) {
	gk := o.GroupVersionKind().GroupKind()
	if scalable[gk] {
		replicas, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		if !found {
			replicas = 1
		}
		ann := o.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[objects.AnnotationActiveReplicas] = strconv.FormatInt(replicas, 10)
		o.SetAnnotations(ann)
		if style == v1alpha1.StandbyPilotLight {
			_ = unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas")
		}
	}
	switch {
	case style == v1alpha1.StandbyCold && workloadKinds[gk]:
		return Defer, "cold stand-by: workloads are applied on failover"
	case style == v1alpha1.StandbyPilotLight && gk.Group == "autoscaling" && gk.Kind == "HorizontalPodAutoscaler":
		return Defer, "pilot-light stand-by: the autoscaler would scale the workload back up; applied on failover"
	}
	return Apply, ""
}
