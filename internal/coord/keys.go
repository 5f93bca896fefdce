package coord

import "strings"

// The layout of everything hadron keeps in etcd, in one place so that a reader of the
// keyspace (etcdctl get --prefix /hadron/v1/) knows what each key is.
//
//	/hadron/v1/leader/<lease>                      election keys; the oldest is the leader
//	/hadron/v1/observations/<app>/<site>/<observer> the observer's latest probe of the site (JSON)
//	/hadron/v1/apps/<app>/active                   the site the application runs at (set by runbooks)
//	/hadron/v1/apps/<app>/health                   the quorum's verdict per site (JSON), written by the leader
//	/hadron/v1/apps/<app>/served                   the last site the quorum found the application up at
//	/hadron/v1/runbooks/<app>/<run>                a runbook's progress; <app>/open names the open run
//	/hadron/v1/ledger/<app>/<run>                  a finished run's record
//	/hadron/v1/standby-pending/<app>/<site>        a former active site to make a stand-by once reachable
//	/hadron/v1/daemons/<site>/data                 the mirror sets that site's daemon cannot act on, and why (JSON)
//	/hadron/v1/dnsproviders/<provider>             what the leader last did at a DNS provider (JSON)
//	/hadron/v1/quorum                              read by every daemon to prove it reaches a majority
//	/hadron/v1/tokens/<name>                       an API token: its roles and the SHA-256 of its secret (JSON)
//	/hadron/v1/readiness/<app>                     the leader's latest readiness and parity check of the app's stand-bys (JSON)
//	/hadron/v1/fleet/spec                          the fleet the daemons keep the same in every site's cluster: canonical text, hash, site (JSON; internal/fleetsync)
const (
	Root            = "/hadron/v1/"
	LeaderPrefix    = Root + "leader/"
	ObservationsDir = Root + "observations/"
	AppsDir         = Root + "apps/"
	RunbooksDir     = Root + "runbooks/"
	LedgerDir       = Root + "ledger/"
	PendingDir      = Root + "standby-pending/"
	DaemonsDir      = Root + "daemons/"
	QuorumKey       = Root + "quorum"
	DNSProvidersDir = Root + "dnsproviders/"
	TokensDir       = Root + "tokens/"
	ReadinessDir    = Root + "readiness/"
	FleetSpecKey    = Root + "fleet/spec"
)

// DNSProviderKey holds what the leader last did at the named DNS provider.
func DNSProviderKey(name string) string { return DNSProvidersDir + name }

// ObservationKey is where observer keeps its latest probe of site for app.
func ObservationKey(app, site, observer string) string {
	return ObservationsDir + app + "/" + site + "/" + observer
}

// ParseObservationKey splits an observation key; ok is false for any other key.
func ParseObservationKey(key string) (app, site, observer string, ok bool) {
	rest, found := strings.CutPrefix(key, ObservationsDir)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// ActiveKey holds the active site of app.
func ActiveKey(app string) string { return AppsDir + app + "/active" }

// ServedKey holds the last site at which the quorum found app up: an automatic
// failover moves only an application that served at its active site (one whose
// active site was never up, like a fresh install, has nothing to fail over).
func ServedKey(app string) string { return AppsDir + app + "/served" }

// HealthKey holds the quorum's verdicts of app's sites.
func HealthKey(app string) string { return AppsDir + app + "/health" }

// ParseAppKey splits a key under AppsDir into the application and the field (active,
// health); ok is false for any other key.
func ParseAppKey(key string) (app, field string, ok bool) {
	rest, found := strings.CutPrefix(key, AppsDir)
	if !found {
		return "", "", false
	}
	app, field, found = strings.Cut(rest, "/")
	if !found || app == "" || field == "" || strings.Contains(field, "/") {
		return "", "", false
	}
	return app, field, true
}

// RunbookKey and LedgerKey hold a run while open and once closed.
func RunbookKey(app, run string) string { return RunbooksDir + app + "/" + run }
func LedgerKey(app, run string) string  { return LedgerDir + app + "/" + run }

// PendingStandbyKey marks site as a former active site of app that a failover could
// not reach to make a stand-by; the leader does it when the site answers again.
func PendingStandbyKey(app, site string) string { return PendingDir + app + "/" + site }

// DataReachKey is where site's daemon says which mirror sets it cannot act on (it has
// no driver for them) and why: the hand-over of leadership picks a daemon that can.
func DataReachKey(site string) string { return DaemonsDir + site + "/data" }

// ParseDataReachKey returns the site of a DataReachKey; ok is false for any other key.
func ParseDataReachKey(key string) (site string, ok bool) {
	rest, found := strings.CutPrefix(key, DaemonsDir)
	if !found {
		return "", false
	}
	site, field, found := strings.Cut(rest, "/")
	if !found || site == "" || field != "data" {
		return "", false
	}
	return site, true
}
