package replicate

import "hadron.dev/hadron/internal/objects"

// Annotations that name one cluster's state and must not be copied to another.
var droppedAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"pv.kubernetes.io/provisioned-by",
	"volume.kubernetes.io/selected-node",
	"volume.kubernetes.io/storage-provisioner",
	"volume.beta.kubernetes.io/storage-provisioner",
	"kubernetes.io/service-account.uid",
	"endpoints.kubernetes.io/last-change-trigger-time",
	"control-plane.alpha.kubernetes.io/leader",
	// hadron's own marks, present when the source was itself replicated once (after
	// a failover); they are stamped anew for the target.
	objects.AnnotationApplication, objects.AnnotationSourceSite, objects.AnnotationSourceGeneration,
	objects.AnnotationSourceResourceVersion, objects.AnnotationContentHash, objects.AnnotationActiveReplicas,
}

// ExternalDNSHostname is external-dns's hostname annotation; two clusters that carry
// the same name in it fight over one DNS record (seed 001).
const ExternalDNSHostname = "external-dns.alpha.kubernetes.io/hostname"
