// Package compute is the Kubernetes side of a failover or switchover: it brings an
// application's compute up at the site taking over and scales the site giving up back
// to its stand-by style. It implements runbook.Sites.
//
// Activate works in the order seed 003 needs. First the policy's capacity objects
// (spec.policy.capacity, typically a node autoscaler's Deployment) are raised to their
// replicas and awaited: on a cold stand-by the workloads would otherwise sit Pending
// with no node to run on. Then replicate.Activate scales what replication wrote to the
// replicas it recorded from the active site and applies the deferred objects (cold
// workloads, pilot-light autoscalers); the application's own objects that a previous
// StandBy scaled down (a failback) are restored from the same annotation. Last, every
// Deployment and StatefulSet of the application is awaited until its ready replicas
// reach its spec. Running out of ReadyTimeout is a retryable error naming what is not
// ready, so the runbook engine tries again within its budget; a capacity object the
// site does not have is permanent, since waiting will not create it.
//
// StandBy records each workload's replicas in objects.AnnotationActiveReplicas —
// never overwriting a recorded count with zero, so a second StandBy keeps the first
// count — and, for pilot-light and cold, scales it to zero. Cold does not delete:
// scaled to zero is enough to free the site, and the workload stays ready for a
// failback. HorizontalPodAutoscalers are left in place: the HPA controller does not
// scale a target whose replicas are zero (its ScalingActive condition turns False,
// ScalingDisabled), so it cannot undo the scale-down, and deleting it would need the
// deferred store, which the replicator running from the new active site owns and
// rewrites. Capacity objects are left alone as well: their owner (an operator, the
// autoscaler itself) decides when nodes go.
//
// StandBy and the replicator do not fight. At a former active site the workloads are
// the application's own objects, without hadron's ownership annotations: the
// replicator running from the new active site reports them as conflicts and leaves
// them alone, so StandBy's zero replicas and recorded counts stay (and, until
// something hands them over to replication, they are not updated from the new active
// site either). Where the workloads are copies replication wrote (a site that was a
// stand-by before), the replicator writes the same zero replicas for pilot-light and
// the active site's count into the annotation, and deletes cold workloads, which it
// keeps in its deferred store. Activate restores the application's own workloads
// from the annotation StandBy wrote, since replicate.Activate only scales copies.
//
// Every write sets a value, never adds to one, so both calls are harmless to repeat.
// Scale writes are JSON merge patches of spec.replicas (and the annotation) with
// field manager hadron: a server-side apply of a partial object would drop the fields
// hadron's replication applies. StandBy's patches carry the resourceVersion it read,
// so a replica count that changed meanwhile is not recorded stale.
//
// The decisions — what belongs to an application, whether a workload is ready, what
// StandBy does to one workload, what the runbook records — are pure functions; the
// Sites methods are the I/O around them.
package compute
