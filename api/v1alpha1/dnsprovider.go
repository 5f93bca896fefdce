package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KindDNSProvider is a DNS service the company already runs that hadron keeps in step
// with every failover, for zones that cannot be delegated to hadron's name servers.
const KindDNSProvider = "DNSProvider"

// DNSProvider is a zone in someone else's DNS service that the leader writes the
// applications' names to, the way external-dns does: plan from the records there and
// the current answers, ownership records beside every set, apply.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=hadron
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.zone`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DNSProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              DNSProviderSpec `json:"spec"`
}

// DNSProviderType is how hadron talks to the provider.
//
// +kubebuilder:validation:Enum=rfc2136;dnsendpoint
type DNSProviderType string

const (
	// DNSProviderRFC2136 sends signed dynamic updates (RFC 2136, TSIG) to a primary
	// server, BIND 9 for example.
	DNSProviderRFC2136 DNSProviderType = "rfc2136"
	// DNSProviderDNSEndpoint writes external-dns DNSEndpoint objects into the sites'
	// clusters; an external-dns there writes them on to its provider.
	DNSProviderDNSEndpoint DNSProviderType = "dnsendpoint"
)

// DNSProviderSpec describes one provider.
type DNSProviderSpec struct {
	Type DNSProviderType `json:"type"`
	// Zone is the provider's zone; only application names inside it are written.
	Zone string `json:"zone"`
	// Owner is the id written beside every record set (a DNS label, default hadron);
	// two fleets sharing a zone need two owners. Sets of another owner, and sets
	// without an ownership record, are never changed.
	Owner string `json:"owner,omitempty"`
	// Applications limits the provider to these applications (default: every
	// application whose main name is inside Zone).
	Applications []string `json:"applications,omitempty"`
	// RFC2136 configures type rfc2136.
	RFC2136 *RFC2136Provider `json:"rfc2136,omitempty"`
	// DNSEndpoint configures type dnsendpoint.
	DNSEndpoint *DNSEndpointProvider `json:"dnsEndpoint,omitempty"`
	// Verify lists the provider's name servers (host:port) that a runbook's verify step
	// asks for the main name: every one must answer the new site. Default: the rfc2136
	// server; none for dnsendpoint (name the servers external-dns writes to).
	Verify []Endpoint `json:"verify,omitempty"`
	// Interval is how often the leader compares the provider with the answers when
	// nothing changed (default 30s); every change of state is written at once.
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// RFC2136Provider is a primary server that takes signed dynamic updates.
type RFC2136Provider struct {
	// Server is the primary's host:port (port default 53), per region if it differs.
	Server Endpoint `json:"server"`
	// TSIG signs every message; required unless InsecureUnsigned.
	TSIG *TSIGKey `json:"tsig,omitempty"`
	// InsecureUnsigned sends unsigned updates: only for a server that allows them by
	// address, never across an untrusted network.
	InsecureUnsigned bool `json:"insecureUnsigned,omitempty"`
}

// TSIGKey is a shared key for transaction signatures (RFC 8945).
type TSIGKey struct {
	Name string `json:"name"`
	// Algorithm defaults to hmac-sha256.
	Algorithm string `json:"algorithm,omitempty"`
	// SecretFrom holds the base64 secret.
	SecretFrom SecretRef `json:"secretFrom"`
}

// DNSEndpointProvider writes DNSEndpoint objects (externaldns.k8s.io/v1alpha1).
type DNSEndpointProvider struct {
	// Sites whose clusters get the objects (default: every workload site). Write them
	// to more than one site so that the loss of one region does not stop DNS updates.
	Sites []string `json:"sites,omitempty"`
	// Namespace of the objects (default: each application's own).
	Namespace string `json:"namespace,omitempty"`
	// SetIdentifiers writes one endpoint per site of a weighted or failover name with a
	// set identifier and an aws/weight, for providers that route by weight (Route 53);
	// by default one endpoint carries the addresses of the sites that get traffic.
	SetIdentifiers bool `json:"setIdentifiers,omitempty"`
}
