// Package api is the daemon's HTTPS API: the JSON types of its answers, the server
// (bearer-token authentication, TLS) and the client the CLI uses.
package api

import "time"

// Status is GET /v1/status: what one daemon knows of the fleet.
type Status struct {
	// Daemon is the site whose daemon answered.
	Daemon string    `json:"daemon"`
	Time   time.Time `json:"time"`
	Etcd   Etcd      `json:"etcd"`
	// Leader is the daemon that takes decisions, with its fencing token; empty when
	// there is none (no quorum, or an election in progress).
	Leader      string `json:"leader,omitempty"`
	LeaderToken int64  `json:"leaderToken,omitempty"`
	// FencedData are the local primaries (set/member) this daemon made read-only when
	// it lost the majority; they stay fenced until a runbook decides.
	FencedData []string `json:"fencedData,omitempty"`
	// CannotAct lists, per daemon (site), the mirror sets it cannot act on — it has
	// no driver for them: a password it cannot read, ... — and why: daemon → set →
	// reason. Daemons that can act on every set are absent; the others are placed
	// after every daemon that can when the leadership moves. This daemon's own list is
	// current; the others' are as they published them in etcd.
	CannotAct map[string]map[string]string `json:"cannotAct,omitempty"`
	Apps      []App                        `json:"apps"`
	// DNSProviders is what the leader last did at each DNS provider of the fleet.
	DNSProviders []DNSProviderStatus `json:"dnsProviders,omitempty"`
	// Certificate is the answering daemon's certificate (API, etcd peer and client) as
	// it serves it now: after a rotation, the new one.
	Certificate *Certificate `json:"certificate,omitempty"`
	// FleetInvalid is the problem of the fleet in the answering daemon's cluster, one
	// line per field, when it refused it (hadron serve --fleet-from-cluster): the daemon
	// runs the last valid fleet meanwhile. Empty when the cluster's fleet is valid.
	FleetInvalid string `json:"fleetInvalid,omitempty"`
}

// DNSProviderStatus is the leader's last sync of one DNS provider.
type DNSProviderStatus struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Zone string `json:"zone"`
	// OK is true when the last sync was accepted; Error says why it was not.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Errors are parts that failed while others were written (a site's cluster).
	Errors []string `json:"errors,omitempty"`
	// SyncedAt is the last accepted sync; StateVersion the application state it wrote.
	SyncedAt     time.Time `json:"syncedAt,omitzero"`
	StateVersion uint64    `json:"stateVersion,omitempty"`
	// Changes is how many record sets or objects the last sync changed.
	Changes int `json:"changes"`
}

// Certificate is a certificate in use.
type Certificate struct {
	Subject string `json:"subject"`
	// Serial is the serial number in hexadecimal.
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"notAfter"`
}

// Etcd is the coordination cluster as the daemon sees it.
type Etcd struct {
	// Quorum is true when the daemon's last linearizable read succeeded.
	Quorum bool `json:"quorum"`
	// SelfFenced is true when the daemon went without a majority too long and stopped
	// answering the main names with its own site.
	SelfFenced bool      `json:"selfFenced"`
	LastQuorum time.Time `json:"lastQuorum,omitzero"`
	Error      string    `json:"error,omitempty"`
	// External is true when the daemon uses an external etcd cluster.
	External bool     `json:"external,omitempty"`
	Members  []Member `json:"members,omitempty"`
}

// Member is one etcd member.
type Member struct {
	Name    string   `json:"name"`
	PeerURL []string `json:"peerURLs"`
	// Leader is true for the raft leader of the cluster.
	Leader bool `json:"leader,omitempty"`
}

// App is one application's state.
type App struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy,omitempty"`
	// Active is the site the application runs at; Standby the stand-by style.
	Active  string `json:"active"`
	Standby string `json:"standby,omitempty"`
	// Verdicts are the quorum's verdicts per site as the leader published them.
	Verdicts map[string]string `json:"verdicts"`
	// Observations are each observer's latest probe of each site: observer → site.
	Observations map[string]map[string]Observation `json:"observations"`
	DNS          *DNS                              `json:"dns,omitempty"`
	// Data is the application's mirror set as this daemon last observed it.
	Data *DataSet `json:"data,omitempty"`
	// Run is the application's open runbook, if any.
	Run *OpenRun `json:"run,omitempty"`
	// AutoFailoverHeld, at the leader, says why it does not start the automatic
	// failover that the verdicts call for: it cannot act on the application's mirror
	// set, and waits for the leadership to go to a daemon that can.
	AutoFailoverHeld string `json:"autoFailoverHeld,omitempty"`
	// NoAutoFailover, at the leader while the active site is down by quorum, says why
	// no automatic failover starts (runbook.AutoDecide's reason: a run is open, the
	// application was never found up there, the flapping guard, no other site...).
	NoAutoFailover string `json:"noAutoFailover,omitempty"`
	// Readiness is the leader's latest check of whether the stand-by sites could take
	// over (what `hadron check readiness` says), kept in etcd so that every daemon
	// reports it; nil until a leader has checked.
	Readiness *Readiness `json:"readiness,omitempty"`
}

// Readiness is one check of an application's stand-by sites by the leader: the
// findings of `hadron check readiness` and the object parity per stand-by site.
type Readiness struct {
	At     time.Time `json:"at"`
	Leader string    `json:"leader"`
	// Active is the site the stand-bys were compared with.
	Active string `json:"active"`
	// Error says why the check could not be made (a site unreachable); the findings
	// and parity are then empty.
	Error    string             `json:"error,omitempty"`
	Findings []ReadinessFinding `json:"findings,omitempty"`
	Parity   []SiteParity       `json:"parity,omitempty"`
}

// ReadinessFinding is one finding: Level is ok, warn or fail.
type ReadinessFinding struct {
	Check   string `json:"check"`
	Site    string `json:"site,omitempty"`
	Level   string `json:"level"`
	Message string `json:"message"`
	Action  string `json:"action,omitempty"`
}

// SiteParity sums up one stand-by site's objects by parity state (in-sync, deferred,
// drifted, missing, not-owned, extra, error) and lists the first of those that need
// an action.
type SiteParity struct {
	Site   string         `json:"site"`
	Counts map[string]int `json:"counts"`
	Off    []ParityLine   `json:"off,omitempty"`
	// More counts the objects needing an action beyond those in Off.
	More int `json:"more,omitempty"`
}

// ParityLine is one object whose copy needs an action.
type ParityLine struct {
	Object string `json:"object"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// OpenRun is a runbook that has not closed: running, failed or waiting for a leader.
type OpenRun struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Who    string `json:"who"`
	Status string `json:"status"`
	// Step is the first unfinished step, numbered from 1 of Steps.
	Step     int    `json:"step"`
	StepName string `json:"stepName"`
	Steps    int    `json:"steps"`
	Error    string `json:"error,omitempty"`
}

// DataSet is one observation of a mirror set.
type DataSet struct {
	Name    string       `json:"name"`
	Primary string       `json:"primary,omitempty"`
	At      time.Time    `json:"at,omitzero"`
	Error   string       `json:"error,omitempty"`
	Members []DataMember `json:"members,omitempty"`
	// Promise is the set's data-loss mode across regions and how its primary keeps it.
	Promise *DataPromise `json:"promise,omitempty"`
	// Archive is the primary's WAL archiving, for a set with spec.backup.
	Archive *ArchiveLag `json:"archive,omitempty"`
}

// ArchiveLag is how far a mirror set's backup archive is behind its primary.
type ArchiveLag struct {
	Primary string `json:"primary,omitempty"`
	// Current is the primary's WAL position at the reading ("0/3000148").
	Current string `json:"current,omitempty"`
	// LagBytes is the WAL written that is not in the archive yet; WaitingSegments the
	// finished files queued for archive_command.
	LagBytes        int64 `json:"lagBytes"`
	WaitingSegments int   `json:"waitingSegments"`
	// WaitingSeconds is how long the oldest queued file has waited (0 with none): what
	// Bound limits.
	WaitingSeconds float64 `json:"waitingSeconds"`
	// LastArchived is the newest file archived and LastArchivedAt when.
	LastArchived   string    `json:"lastArchived,omitempty"`
	LastArchivedAt time.Time `json:"lastArchivedAt,omitzero"`
	FailedCount    int64     `json:"failedCount,omitempty"`
	LastFailed     string    `json:"lastFailed,omitempty"`
	// Bound is spec.backup.archiveLagBound in force ("2m0s"); OverBound says the
	// oldest queued file has waited longer.
	Bound     string `json:"bound"`
	OverBound bool   `json:"overBound,omitempty"`
	// Error says why the archiver could not be read; the rest is then empty.
	Error string `json:"error,omitempty"`
}

// DataPromise is a mirror set's data-loss mode (async, bounded, synchronous) as its
// primary keeps it now: the DR member's confirmed lag against the bound, and whether
// commits wait for the promise.
type DataPromise struct {
	Mode string `json:"mode"`
	// Bound is mode bounded's bound ("200ms").
	Bound string `json:"bound,omitempty"`
	// InForce: the primary's synchronous standbys carry the promise; Holding: commits
	// wait for it now.
	InForce bool `json:"inForce"`
	Holding bool `json:"holding,omitempty"`
	// DR is the member the promise is about, ConfirmedLagSeconds how far behind it is.
	DR                  string  `json:"dr,omitempty"`
	ConfirmedLagSeconds float64 `json:"confirmedLagSeconds"`
	// Summary says it in a sentence ("bounded 200ms: in force, west-0 80ms behind").
	Summary string `json:"summary"`
}

// DataMember is one member of a mirror set: its configured role, what it is doing and
// how far behind the primary it is.
type DataMember struct {
	Name       string  `json:"name"`
	Site       string  `json:"site"`
	Role       string  `json:"role"`
	State      string  `json:"state"`
	Sync       bool    `json:"sync,omitempty"`
	LagBytes   int64   `json:"lagBytes"`
	LagSeconds float64 `json:"lagSeconds"`
	Timeline   uint32  `json:"timeline,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// Observation is one probe result.
type Observation struct {
	OK bool `json:"ok"`
	// Reached says the site answered, even when the answer failed the check (a
	// pilot-light stand-by's 503): the site is there, its application is not serving.
	Reached   bool      `json:"reached,omitempty"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
	LatencyMS float64   `json:"latencyMs"`
}

// DNS is what the daemon's name server answers for the main name now.
type DNS struct {
	Name    string   `json:"name"`
	Answers []string `json:"answers"`
	// Version is the state version answered (the SOA serial's offset).
	Version uint64 `json:"version"`
}
