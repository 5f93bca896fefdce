package v1alpha1

import (
	"encoding/json"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GroupVersion is the apiVersion every fleet document carries.
const GroupVersion = "hadron.dev/v1alpha1"

// Kinds of fleet documents.
const (
	KindSite        = "Site"
	KindApplication = "Application"
	KindMirrorSet   = "MirrorSet"
)

// Endpoint is an address (host:port) of something that lives in one region.
//
// Address is how processes inside the owning region reach it. FromRegions gives the
// address to use from another region when that differs: in the lab every cross-region
// path is a toxiproxy listener so that a link can be cut, and in a real fleet it may be
// a private link or an internal load balancer. Use From to pick the right one.
type Endpoint struct {
	Address     string            `json:"address"`
	FromRegions map[string]string `json:"fromRegions,omitempty"`
}

// From returns the address of e as seen from region.
func (e Endpoint) From(region string) string {
	if a, ok := e.FromRegions[region]; ok && a != "" {
		return a
	}
	return e.Address
}

// Site is one Kubernetes cluster in one region, or a witness that only votes.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=hadron
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.region`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Site struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              SiteSpec `json:"spec"`
	// Status is written by hadron; a fleet file leaves it out.
	Status *SiteStatus `json:"status,omitempty"`
}

// SiteRole says whether a site runs workloads or only votes.
//
// +kubebuilder:validation:Enum=workload;witness
type SiteRole string

const (
	SiteRoleWorkload SiteRole = "workload"
	SiteRoleWitness  SiteRole = "witness"
)

// SiteSpec describes where a site is and how to reach it.
type SiteSpec struct {
	// Region is the cloud region (for example us-east-1); failure domains across sites.
	// +kubebuilder:validation:MinLength=1
	Region string `json:"region"`
	// Zones are the availability zones of the site's nodes.
	Zones []string `json:"zones,omitempty"`
	// Role is workload (default) or witness.
	Role SiteRole `json:"role,omitempty"`
	// KubeContext is the kubeconfig context of the site's cluster; Kubeconfig the file
	// (default: $KUBECONFIG, then ~/.kube/config). Paths are relative to the fleet file.
	KubeContext string `json:"kubeContext,omitempty"`
	Kubeconfig  string `json:"kubeconfig,omitempty"`
	// LoadBalancers are the addresses where the site's ingress is reached.
	LoadBalancers []Endpoint `json:"loadBalancers,omitempty"`
	// ClientSubnets are the client networks (CIDRs) nearest to this site, for the geo
	// DNS strategy.
	ClientSubnets []string `json:"clientSubnets,omitempty"`
	// Daemon is where the site's hadron daemon listens.
	Daemon *DaemonSpec `json:"daemon,omitempty"`
}

// DaemonSpec says where a site's `hadron serve` listens.
type DaemonSpec struct {
	// API is the daemon's HTTPS API.
	API Endpoint `json:"api"`
	// Peer is the embedded etcd member's peer address.
	Peer *Endpoint `json:"peer,omitempty"`
	// DNS is where the daemon serves the GSLB zones (UDP and TCP).
	DNS *Endpoint `json:"dns,omitempty"`
}

// Application is a set of Kubernetes objects with a DR policy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=happ,categories=hadron
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.policy.mode`
// +kubebuilder:printcolumn:name="Active",type=string,JSONPath=`.status.activeSite`,description="The site serving now (spec.policy.activeSite until hadron reports)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Protected",type=string,JSONPath=`.status.conditions[?(@.type=="Protected")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSpec `json:"spec"`
	// Status is written by hadron; a fleet file leaves it out.
	Status *ApplicationStatus `json:"status,omitempty"`
}

// ApplicationSpec names the objects, the policy, the DNS names, the health check and
// the data of an application.
type ApplicationSpec struct {
	// Namespace holds the application's objects on every site.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Selector picks the application's objects in Namespace (default: all of them).
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Policy says which site serves, how the others stand by and when to fail over.
	Policy Policy `json:"policy"`
	// DNS is the names hadron answers for the application.
	DNS *DNS `json:"dns,omitempty"`
	// Health is how observers decide whether a site serves the application.
	Health *Health `json:"health,omitempty"`
	// Data names the mirror set holding the application's database.
	Data *DataRef `json:"data,omitempty"`
	// Replication says how the application's objects are copied to stand-by sites.
	Replication *ObjectReplication `json:"replication,omitempty"`
}

// ObjectReplication tunes how the application's Kubernetes objects reach the stand-by
// sites: extra kinds, the Secrets to copy, per-site rules and the Services to export.
type ObjectReplication struct {
	// Kinds adds kinds to the built-in list, as Kind.group (Widget.example.com) or
	// Kind for the core group; custom resources are named here.
	Kinds []string `json:"kinds,omitempty"`
	// Secrets names the Secrets of the namespace to replicate (for example the TLS
	// secret of the main name). No other Secret is copied; contents are never logged.
	Secrets []string `json:"secrets,omitempty"`
	// Rules change objects per site, in order, after the built-in transforms.
	Rules []ReplicationRule `json:"rules,omitempty"`
	// Exports are Services that appear in the other sites under the same name, backed
	// by the exporting site's address. A Service labelled hadron.dev/export=true is
	// exported too.
	Exports []ServiceExport `json:"exports,omitempty"`
	// CertificateWindow is how long before expiry a replicated TLS certificate is
	// flagged by the readiness check (default 720h).
	CertificateWindow *metav1.Duration `json:"certificateWindow,omitempty"`
}

// ReplicationRule patches the objects it matches on the sites it names.
type ReplicationRule struct {
	// Sites the rule applies to; empty means every stand-by site.
	Sites []string `json:"sites,omitempty"`
	// Kinds matched, as Kind.group or Kind (core); empty matches every kind.
	Kinds []string `json:"kinds,omitempty"`
	// Name is a regular expression the whole object name must match; empty matches all.
	Name string `json:"name,omitempty"`
	// Labels the object must carry.
	Labels map[string]string `json:"labels,omitempty"`
	// JSONPatch is an RFC 6902 patch; MergePatch an RFC 7386 merge patch. Both may be
	// given: the JSON patch is applied first.
	JSONPatch []JSONPatchOperation `json:"jsonPatch,omitempty"`
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	MergePatch json.RawMessage `json:"mergePatch,omitempty"`
}

// JSONPatchOperation is one RFC 6902 operation.
type JSONPatchOperation struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	From string `json:"from,omitempty"`
	// Value is any JSON value: the schema leaves it open.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	Value json.RawMessage `json:"value,omitempty"`
}

// ServiceExport makes a Service of the application's namespace reachable from the
// other sites under the same name.
type ServiceExport struct {
	// Service is the Service's name.
	Service string `json:"service"`
	// Endpoints gives, per exporting site, where the Service is reached from outside
	// its cluster (an internal load balancer), with per-region addresses. Default: the
	// Service's load-balancer ingress, else the site's first load balancer.
	Endpoints map[string]Endpoint `json:"endpoints,omitempty"`
}

// Mode is how sites share an application.
//
// +kubebuilder:validation:Enum=active-passive;active-active
type Mode string

const (
	ModeActivePassive Mode = "active-passive"
	ModeActiveActive  Mode = "active-active"
)

// StandbyStyle is how much of the application runs on a stand-by site.
//
// +kubebuilder:validation:Enum=cold;pilot-light;warm
type StandbyStyle string

const (
	// StandbyCold keeps objects off the stand-by; they are applied on failover.
	StandbyCold StandbyStyle = "cold"
	// StandbyPilotLight keeps objects present with zero replicas.
	StandbyPilotLight StandbyStyle = "pilot-light"
	// StandbyWarm keeps the application running without traffic.
	StandbyWarm StandbyStyle = "warm"
)

// Policy is the DR policy of an application.
type Policy struct {
	// Mode is active-passive (one site serves) or active-active (every site serves).
	Mode Mode `json:"mode"`
	// ActiveSite is the site that serves at first; hadron reports the one serving now
	// in status.activeSite.
	// +kubebuilder:validation:MinLength=1
	ActiveSite string `json:"activeSite"`
	// StandbySites are the workload sites that can take over.
	StandbySites []string `json:"standbySites,omitempty"`
	// Standby is how much runs on a stand-by site: cold, pilot-light or warm.
	Standby StandbyStyle `json:"standby,omitempty"`
	// RPO is the data loss the policy promises at most across a failover; "0s" needs a
	// synchronous member. Empty means no promise.
	RPO *metav1.Duration `json:"rpo,omitempty"`
	// DataLoss says what the application's mirror set may lose when its primary's
	// region is lost or cut off, and what the primary does to keep that promise
	// (default async). It needs spec.data; every application of one mirror set must
	// say the same.
	DataLoss *DataLoss `json:"dataLoss,omitempty"`
	// AutomaticFailover lets the leader fail over without a person.
	AutomaticFailover *AutomaticFailover `json:"automaticFailover,omitempty"`
	// Capacity lists objects to scale up first on failover (seed 003's node autoscaler).
	Capacity []CapacityRef `json:"capacity,omitempty"`
}

// DataLossMode is how the primary treats its members in other regions.
//
// +kubebuilder:validation:Enum=async;bounded;synchronous
type DataLossMode string

const (
	// DataLossAsync replicates across regions asynchronously: the lowest commit
	// latency; a lost region costs the replication lag, a cut-off one the lag plus
	// the time until its daemon fences it (about 2 s), both reported.
	DataLossAsync DataLossMode = "async"
	// DataLossBounded never acknowledges a commit while the DR member's confirmed
	// position is older than Bound: commits wait instead (until it catches up), so a
	// lost or cut-off region costs at most Bound of writes plus those in flight.
	DataLossBounded DataLossMode = "bounded"
	// DataLossSynchronous acknowledges a commit only once the in-region failover
	// member and the DR member have flushed it: nothing acknowledged is lost with the
	// region, at the cost of one cross-region round trip per commit.
	DataLossSynchronous DataLossMode = "synchronous"
)

// DataLoss is an application's data-loss mode across regions.
type DataLoss struct {
	Mode DataLossMode `json:"mode"`
	// Bound is the most writes, in time, a lost region may take with it; only with
	// mode bounded, where it is required.
	Bound *metav1.Duration `json:"bound,omitempty"`
}

// String is the mode as hadron prints it: "async", "bounded 200ms", "synchronous".
func (d *DataLoss) String() string {
	switch {
	case d == nil || d.Mode == "":
		return string(DataLossAsync)
	case d.Mode == DataLossBounded && d.Bound != nil:
		return string(d.Mode) + " " + d.Bound.Duration.String()
	}
	return string(d.Mode)
}

// EffectiveMode is the mode, async when none is set.
func (d DataLoss) EffectiveMode() DataLossMode {
	if d.Mode == "" {
		return DataLossAsync
	}
	return d.Mode
}

// AutomaticFailover configures failover without a person.
type AutomaticFailover struct {
	Enabled bool `json:"enabled"`
	// Threshold is how long the active site must be down by quorum before failover.
	Threshold *metav1.Duration `json:"threshold,omitempty"`
	// MinInterval guards against flapping: no second automatic failover within it.
	MinInterval *metav1.Duration `json:"minInterval,omitempty"`
}

// CapacityRef is an object whose replicas must be raised before the workloads.
type CapacityRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	// +kubebuilder:validation:Minimum=1
	Replicas int32 `json:"replicas"`
}

// Strategy is how the main DNS name picks sites.
//
// +kubebuilder:validation:Enum=failover;weighted;round-robin;geo
type Strategy string

const (
	StrategyFailover   Strategy = "failover"
	StrategyWeighted   Strategy = "weighted"
	StrategyRoundRobin Strategy = "round-robin"
	StrategyGeo        Strategy = "geo"
)

// DNS is the application's names.
type DNS struct {
	// Zone is the GSLB zone hadron answers for (for example gslb.example.com).
	Zone string `json:"zone"`
	// Name is the main name clients use; inside Zone.
	Name string `json:"name"`
	// SiteNames are per-site names; default <site>.<Name>.
	SiteNames map[string]string `json:"siteNames,omitempty"`
	// TTL in seconds of the answers (default 10).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	TTL      *int32           `json:"ttl,omitempty"`
	Strategy Strategy         `json:"strategy,omitempty"`
	Weights  map[string]int32 `json:"weights,omitempty"`
	// VerifyQuorum is how many of the fleet's name servers (the daemons' spec.daemon.dns)
	// must answer the new site for a runbook's verify step to pass; default a majority
	// of them. A name server that answers another site fails the step whatever the count.
	// +kubebuilder:validation:Minimum=1
	VerifyQuorum *int32 `json:"verifyQuorum,omitempty"`
}

// ProbeType is the kind of health check.
//
// +kubebuilder:validation:Enum=http;https;tcp;dns
type ProbeType string

const (
	ProbeHTTP  ProbeType = "http"
	ProbeHTTPS ProbeType = "https"
	ProbeTCP   ProbeType = "tcp"
	ProbeDNS   ProbeType = "dns"
)

// Health is how every observer checks a site's load balancers.
type Health struct {
	Type ProbeType `json:"type"`
	Path string    `json:"path,omitempty"`
	// Port overrides the load balancer's port.
	Port int32 `json:"port,omitempty"`
	// ExpectStatus lists accepted HTTP status codes (default 200–399).
	ExpectStatus []int32 `json:"expectStatus,omitempty"`
	// BodyMatch is a regular expression the body must match.
	BodyMatch string           `json:"bodyMatch,omitempty"`
	Interval  *metav1.Duration `json:"interval,omitempty"`
	Timeout   *metav1.Duration `json:"timeout,omitempty"`
	// Rise is how many passes mark a site up, Fall how many failures mark it down.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Rise int32 `json:"rise,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Fall int32 `json:"fall,omitempty"`
}

// DataRef points an application at its replicated data.
type DataRef struct {
	MirrorSet string `json:"mirrorSet"`
}

// MirrorSet is a replicated database: a primary, an in-region synchronous failover
// member and asynchronous DR members in other regions (seed 000).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mset,categories=hadron
// +kubebuilder:printcolumn:name="Engine",type=string,JSONPath=`.spec.engine`
// +kubebuilder:printcolumn:name="Primary",type=string,JSONPath=`.status.primary`,description="The member hadron last saw as primary"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MirrorSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              MirrorSetSpec `json:"spec"`
	// Status is written by hadron; a fleet file leaves it out.
	Status *MirrorSetStatus `json:"status,omitempty"`
}

// Engine is the database engine of a mirror set.
//
// +kubebuilder:validation:Enum=postgres
type Engine string

const EnginePostgres Engine = "postgres"

// MemberRole is a member's role in a mirror set.
//
// +kubebuilder:validation:Enum=primary;failover;dr-async
type MemberRole string

const (
	RolePrimary  MemberRole = "primary"
	RoleFailover MemberRole = "failover"
	RoleDRAsync  MemberRole = "dr-async"
)

// MirrorSetSpec describes the members and how they replicate.
type MirrorSetSpec struct {
	// Engine is the database engine; postgres is the only one.
	Engine Engine `json:"engine"`
	// Database is the database hadron connects to (default postgres).
	Database string `json:"database,omitempty"`
	// Members are the set's instances: one primary and at least one other.
	// +kubebuilder:validation:MinItems=2
	Members     []Member     `json:"members"`
	Credentials *Credentials `json:"credentials,omitempty"`
	Replication *Replication `json:"replication,omitempty"`
	// TLS says how the connections to the members are encrypted and verified.
	TLS *TLS `json:"tls,omitempty"`
	// Backup archives the set's WAL and keeps base backups in a repository
	// (pgBackRest), for restores to a point in time when every member is lost.
	Backup *Backup `json:"backup,omitempty"`
}

// Backup is a mirror set's backup repository and policy.
type Backup struct {
	Repository BackupRepository `json:"repository"`
	// CipherPassFrom is the passphrase the repository is encrypted with
	// (aes-256-cbc). Required: a repository is encrypted at rest.
	CipherPassFrom *SecretRef `json:"cipherPassFrom,omitempty"`
	// Retention says which full backups are kept.
	Retention *BackupRetention `json:"retention,omitempty"`
	// ArchiveTimeout forces a WAL segment switch on a server idle for this long, so
	// a write reaches the archive within it (default 60s): the archive interval.
	ArchiveTimeout *metav1.Duration `json:"archiveTimeout,omitempty"`
	// Schedule is when the leader takes base backups by itself; without it backups
	// are taken only by `hadron backup run`.
	Schedule *BackupSchedule `json:"schedule,omitempty"`
	// ArchiveLagBound is how long a finished WAL segment may wait for archive_command
	// before the readiness check warns (default twice archiveTimeout). It is a time,
	// not a byte count, because the promise it guards is one: a write is in the
	// archive within archiveTimeout (the segment switch) plus this wait, whatever the
	// write rate; bytes waiting mean different delays under different loads. The wait
	// is read cheaply from the age of the oldest segment marked ready in pg_wal.
	ArchiveLagBound *metav1.Duration `json:"archiveLagBound,omitempty"`
	// RestoreWhenNoMember lets a failover whose target site has no member left, while
	// no member of the set answers anywhere (the primary's region lost together with
	// the DR member), rebuild the target's member from this archive, to its end,
	// instead of waiting for a person. It loses the archive lag (up to archiveTimeout
	// plus the wait of the oldest segment), so only mode async may set it. A member
	// whose data directory still holds a database is down, not lost: never restored
	// over.
	RestoreWhenNoMember bool `json:"restoreWhenNoMember,omitempty"`
}

// DefaultArchiveTimeout is archiveTimeout when it is not set.
const DefaultArchiveTimeout = time.Minute

// EffectiveArchiveTimeout is archiveTimeout, or its default.
func (b *Backup) EffectiveArchiveTimeout() time.Duration {
	if b.ArchiveTimeout != nil && b.ArchiveTimeout.Duration > 0 {
		return b.ArchiveTimeout.Duration
	}
	return DefaultArchiveTimeout
}

// EffectiveArchiveLagBound is archiveLagBound, or twice the archive timeout: a
// healthy archiver pushes a finished segment within seconds, so a segment still
// waiting after two archive intervals means archive_command fails or cannot keep up.
func (b *Backup) EffectiveArchiveLagBound() time.Duration {
	if b.ArchiveLagBound != nil && b.ArchiveLagBound.Duration > 0 {
		return b.ArchiveLagBound.Duration
	}
	return 2 * b.EffectiveArchiveTimeout()
}

// BackupSchedule says how old the newest backups may grow before the leader takes
// another, counted from the start of the newest one in the repository, so that a new
// leader continues where the last one stopped. At least one is set.
type BackupSchedule struct {
	// Full takes a full backup when the newest full one started longer ago.
	Full *metav1.Duration `json:"full,omitempty"`
	// Incremental takes an incremental backup (changes since the newest backup of any
	// type) when the newest backup started longer ago; shorter than Full.
	Incremental *metav1.Duration `json:"incremental,omitempty"`
}

// BackupRepository is exactly one of a directory (path) and an S3 bucket.
type BackupRepository struct {
	// Path is a directory on the members' machines (a shared or mounted file system).
	Path string        `json:"path,omitempty"`
	S3   *S3Repository `json:"s3,omitempty"`
}

// S3Repository is a bucket of an S3-compatible object store, reached over HTTPS.
type S3Repository struct {
	Endpoint string `json:"endpoint"`
	Port     int    `json:"port,omitempty"`
	Bucket   string `json:"bucket"`
	Region   string `json:"region"`
	// Prefix is the repository's path in the bucket (default /hadron).
	Prefix string `json:"prefix,omitempty"`
	// CA verifies the endpoint's certificate (default: the system's roots).
	CA *SecretRef `json:"ca,omitempty"`
	// PathStyle puts the bucket in the URL's path rather than its host name.
	PathStyle bool `json:"pathStyle,omitempty"`
	// FromRegions is the store's host:port as seen from a region, where it differs
	// from endpoint:port: pgBackRest runs on each member's machine, so a member
	// reaches the store the way its region does (the lab's cuttable links; a
	// region's private endpoint). The certificate must name every host.
	FromRegions   map[string]string `json:"fromRegions,omitempty"`
	KeyFrom       *SecretRef        `json:"keyFrom,omitempty"`
	KeySecretFrom *SecretRef        `json:"keySecretFrom,omitempty"`
}

// BackupRetention keeps Full full backups (and the differential and incremental
// backups and WAL that depend on them); older ones expire after each backup.
type BackupRetention struct {
	Full int `json:"full,omitempty"`
}

// Member is one database instance.
type Member struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Site string     `json:"site"`
	Zone string     `json:"zone,omitempty"`
	Role MemberRole `json:"role"`
	// Address is where the member's server listens (host:port).
	Address Endpoint `json:"address"`
	// DataDir is the member's data directory, for drivers that manage the server
	// process themselves (the lab, bare hosts).
	DataDir string `json:"dataDir,omitempty"`
	// Pod: the member runs in its site's cluster as the one pod of a StatefulSet,
	// started by `hadron data member-start`. What needs its files (a rewind, a fresh
	// clone) is asked of the pod: hadron writes it into the ConfigMap
	// "<set>-members" and restarts the pod "<set>-<member>-0". Not with dataDir.
	Pod *MemberPod `json:"pod,omitempty"`
}

// MemberPod says where a member's pod runs; the names follow from the set's and the
// member's (Member.Pod).
type MemberPod struct {
	// Namespace holds the member's StatefulSet and the set's ConfigMap.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
}

// DefaultReplicationUser is Credentials.ReplicationUser when none is named.
const DefaultReplicationUser = "hadron_replication"

// Credentials say how to log in; the secret itself never appears in a fleet file.
type Credentials struct {
	User string `json:"user"`
	// ReplicationUser logs in for streaming replication, pg_basebackup and pg_rewind
	// (default: hadron_replication): a role with only REPLICATION and pg_rewind's
	// grants, never the superuser User. Its password is derived from User's.
	ReplicationUser string     `json:"replicationUser,omitempty"`
	PasswordFrom    *SecretRef `json:"passwordFrom,omitempty"`
}

// SecretRef names where a secret is kept: one of File, Env or Secret.
type SecretRef struct {
	File   string            `json:"file,omitempty"`
	Env    string            `json:"env,omitempty"`
	Secret *KubeSecretKeyRef `json:"secret,omitempty"`
}

// KubeSecretKeyRef is a key of a Secret on a site.
type KubeSecretKeyRef struct {
	Site      string `json:"site"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// TLSMode is libpq's sslmode for every connection hadron and the members make to a
// member: hadron's own sessions, streaming replication, pg_basebackup and pg_rewind.
//
// +kubebuilder:validation:Enum=verify-full;verify-ca;require;disable
type TLSMode string

const (
	// TLSVerifyFull checks the chain to the CA and that the address dialled is in the
	// certificate's names (DNS or IP SANs).
	TLSVerifyFull TLSMode = "verify-full"
	// TLSVerifyCA checks the chain only.
	TLSVerifyCA TLSMode = "verify-ca"
	// TLSRequire encrypts without checking who answers.
	TLSRequire TLSMode = "require"
	// TLSDisable sends everything in clear, passwords excepted (SCRAM).
	TLSDisable TLSMode = "disable"
)

// TLS gives a mirror set's members their server certificates and says how clients
// check them. Each value is a SecretRef, as the password is: a file, an environment
// variable or a key of a Kubernetes Secret (tls.crt, tls.key, ca.crt of a
// kubernetes.io/tls Secret).
type TLS struct {
	// Mode defaults to verify-full when CA is set, require when only member
	// certificates are, and disable otherwise (see EffectiveMode).
	Mode TLSMode `json:"mode,omitempty"`
	// CA is the certificate (PEM) of the authority that signed the members' server
	// certificates; every client verifies the members against it.
	CA *SecretRef `json:"ca,omitempty"`
	// Members are the server certificates of the members hadron runs (those with a
	// dataDir); a member run by someone else is given its certificate by them.
	Members []MemberCertificate `json:"members,omitempty"`
}

// MemberCertificate is one member's server certificate (PEM, leaf first) and key.
type MemberCertificate struct {
	Member string     `json:"member"`
	Cert   *SecretRef `json:"cert"`
	Key    *SecretRef `json:"key"`
}

// EffectiveMode is the mode a set's connections use: the one named, else verify-full
// when there is a CA to verify against, require when members have certificates but
// clients have no CA, disable when there are no certificates at all.
func (t *TLS) EffectiveMode() TLSMode {
	switch {
	case t == nil:
		return TLSDisable
	case t.Mode != "":
		return t.Mode
	case t.CA != nil:
		return TLSVerifyFull
	case len(t.Members) > 0:
		return TLSRequire
	}
	return TLSDisable
}

// Certificate returns member's certificate entry, or nil.
func (t *TLS) Certificate(member string) *MemberCertificate {
	if t == nil {
		return nil
	}
	for i := range t.Members {
		if t.Members[i].Member == member {
			return &t.Members[i]
		}
	}
	return nil
}

// Replication tunes how members follow the primary.
type Replication struct {
	// Synchronous makes the failover member synchronous (default true): RPO 0 in-region.
	Synchronous *bool `json:"synchronous,omitempty"`
	// MaxLagOnFailover is the most WAL (bytes) an automatic promotion may lose.
	MaxLagOnFailover *int64 `json:"maxLagOnFailover,omitempty"`
}
