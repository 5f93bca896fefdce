package objects

import (
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Annotations and labels hadron writes on every replicated object. Together they say
// who owns the object (an application replicated from a source site), which version
// of the source it reflects, and the hash of the content hadron wrote, so a restarted
// replicator can tell what is already in sync without re-applying it.
const (
	// AnnotationApplication names the application that owns the object; its presence
	// is what makes the object hadron's.
	AnnotationApplication = "hadron.dev/application"
	// AnnotationSourceSite is the site the object was copied from.
	AnnotationSourceSite = "hadron.dev/source-site"
	// AnnotationSourceGeneration and AnnotationSourceResourceVersion identify the
	// source object's version at the last content change.
	AnnotationSourceGeneration      = "hadron.dev/source-generation"
	AnnotationSourceResourceVersion = "hadron.dev/source-resource-version"
	// AnnotationContentHash is the hash of the desired content (without the source
	// version annotations).
	AnnotationContentHash = "hadron.dev/content-hash"
	// AnnotationActiveReplicas records the replicas of the active site's object, so a
	// failover can restore them on a pilot-light stand-by.
	AnnotationActiveReplicas = "hadron.dev/active-replicas"
	// AnnotationImportedFrom marks a Service or EndpointSlice that cross-site
	// discovery made for a Service exported by another site; it names that site.
	AnnotationImportedFrom = "hadron.dev/imported-from"
	// AnnotationDeferredStore marks the ConfigMap that keeps a stand-by's deferred
	// objects (cold workloads, pilot-light autoscalers) ready to apply on failover.
	AnnotationDeferredStore = "hadron.dev/deferred-store"
	// LabelSite is set on every replicated object to the site it lives on.
	LabelSite = "hadron.dev/site"
	// LabelExport on a Service (value "true") exports it to the other sites.
	LabelExport = "hadron.dev/export"
)

// ActiveReplicas returns the replicas recorded on a stand-by object, if any.
func ActiveReplicas(o *unstructured.Unstructured) (int64, bool) {
	v, ok := o.GetAnnotations()[AnnotationActiveReplicas]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
