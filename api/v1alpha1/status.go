package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types hadron writes in the status of its objects. Each is a
// metav1.Condition: status True, False or Unknown, a CamelCase reason and a message.
const (
	// ConditionReady: the object is serving as its spec says (an application's active
	// site answers its health check; a mirror set has a writable primary).
	ConditionReady = "Ready"
	// ConditionReplicated: the stand-by sites hold the application's objects and the
	// data members follow the primary within the policy's bounds.
	ConditionReplicated = "Replicated"
	// ConditionProtected: a failover now would keep the policy's promises (a stand-by
	// is ready and the data loss would be within the RPO).
	ConditionProtected = "Protected"
	// ConditionFailingOver: a switchover, failover or failback is running.
	ConditionFailingOver = "FailingOver"
	// ConditionDegraded: something is wrong that does not stop service yet (a member
	// lagging, a stand-by unreachable, an expiring certificate).
	ConditionDegraded = "Degraded"
)

// ConditionTypes lists every condition type, in the order hadron reports them.
var ConditionTypes = []string{ConditionReady, ConditionReplicated, ConditionProtected, ConditionFailingOver, ConditionDegraded}

// SiteStatus is what hadron last saw of a site.
type SiteStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready (the site's daemon and cluster answer) and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ApplicationStatus is what hadron last saw of an application.
type ApplicationStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Replicated, Protected, FailingOver and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ActiveSite is the site serving the application now; it differs from
	// spec.policy.activeSite after a failover.
	ActiveSite string `json:"activeSite,omitempty"`
	// LastMove is the last switchover, failover or failback that finished.
	LastMove *Move `json:"lastMove,omitempty"`
}

// MoveKind is what moved an application.
//
// +kubebuilder:validation:Enum=switchover;failover;failback
type MoveKind string

const (
	MoveSwitchover MoveKind = "switchover"
	MoveFailover   MoveKind = "failover"
	MoveFailback   MoveKind = "failback"
)

// Move is one runbook run that moved an application between sites, with what it
// cost: the recovery time (RTO) and the writes lost, in time (RPO).
type Move struct {
	Kind MoveKind `json:"kind"`
	From string   `json:"from"`
	To   string   `json:"to"`
	// Run is the runbook run's id, as `hadron history` lists it.
	Run        string      `json:"run,omitempty"`
	StartedAt  metav1.Time `json:"startedAt"`
	FinishedAt metav1.Time `json:"finishedAt"`
	// Succeeded is false when the run stopped or was rolled back.
	Succeeded bool `json:"succeeded"`
	// RTO is how long clients had no working site: from the fault (or the start of a
	// planned move) until the new site answered.
	RTO *metav1.Duration `json:"rto,omitempty"`
	// RPO is the writes lost, in time: zero when the new primary had every
	// acknowledged write. Unset when the application has no data.
	RPO *metav1.Duration `json:"rpo,omitempty"`
}

// MirrorSetStatus is what hadron last saw of a mirror set.
type MirrorSetStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Replicated, Protected, FailingOver and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Primary is the member that takes writes now.
	Primary string `json:"primary,omitempty"`
	// Members are the members as seen, in spec order.
	// +listType=map
	// +listMapKey=name
	// +optional
	Members []MemberStatus `json:"members,omitempty"`
}

// MemberStatus is one member's role and how far it trails the primary.
type MemberStatus struct {
	Name string `json:"name"`
	Site string `json:"site,omitempty"`
	// Role is the member's role now, which a failover changes from the spec's.
	Role MemberRole `json:"role,omitempty"`
	// Reachable is false when hadron could not ask the member.
	Reachable bool `json:"reachable"`
	// LagBytes is how much WAL the member has not replayed; LagTime how old its last
	// replayed transaction is compared with the primary's.
	LagBytes *int64           `json:"lagBytes,omitempty"`
	LagTime  *metav1.Duration `json:"lagTime,omitempty"`
	// Timeline is the member's PostgreSQL timeline.
	Timeline int64 `json:"timeline,omitempty"`
}

// SiteList, ApplicationList, MirrorSetList and DNSProviderList are what the API server
// returns for a list; clients of the custom resources need them.

// SiteList is a list of Sites.
//
// +kubebuilder:object:root=true
type SiteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Site `json:"items"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

// MirrorSetList is a list of MirrorSets.
//
// +kubebuilder:object:root=true
type MirrorSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MirrorSet `json:"items"`
}

// DNSProviderList is a list of DNSProviders.
//
// +kubebuilder:object:root=true
type DNSProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DNSProvider `json:"items"`
}
