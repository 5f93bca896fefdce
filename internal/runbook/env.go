package runbook

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
)

// Sites acts on the application's sites (Kubernetes). Both calls must be idempotent:
// they set counts, never add to them.
type Sites interface {
	// Capacity raises the policy's capacity objects at site and waits until they are
	// ready; a planned move does it before it stops writes.
	Capacity(ctx context.Context, app, site string) (string, error)
	// Activate scales the capacity objects at site first, then the application's
	// workloads to their recorded replica counts (replicate.Activate), and waits until
	// they are ready.
	Activate(ctx context.Context, app, site string) (string, error)
	// StandBy scales site back down to its stand-by style.
	StandBy(ctx context.Context, app, site string) (string, error)
}

// DNSProviders keeps the DNS services the company runs (DNSProvider documents) in step
// with the application's active site.
type DNSProviders interface {
	// Publish writes app's answers with site active to every provider that carries
	// app, fenced by token, and fails naming the providers that did not accept them.
	Publish(ctx context.Context, token coord.Token, app, site string) (string, error)
	// Published says whether every provider carrying app accepted it at site under
	// this daemon's leadership.
	Published(app, site string) bool
	// Verify asks the providers' name servers for app's main name: each must answer
	// site's addresses.
	Verify(ctx context.Context, app, site string) (string, error)
}

// Env is what the steps of one application act on.
type Env struct {
	Client *clientv3.Client
	// Data drives the application's mirror set; nil for an application without one,
	// whose data steps have nothing to do.
	Data data.Driver
	// NoDriver, when set, says that the application has a mirror set and this daemon
	// cannot act on it: every data step fails with it, permanently (Data is nil then,
	// but "no mirror set" would be a lie).
	NoDriver *NoDriverError
	// Sites scales workloads; nil skips the activate and stand-by scaling (recorded).
	Sites Sites
	// VerifyURL is fetched through the target's load balancer by the verify step
	// ("" skips the HTTP check); HTTP is the client (default: 5 s timeout).
	VerifyURL string
	HTTP      *http.Client
	// Check, when set, is the application's own health check of site through its load
	// balancers (the daemon's probe); verify needs it to pass.
	Check func(ctx context.Context, site string) (string, error)
	// MainName, when set, checks that the application's main name answers site at a
	// quorum of the name servers (default a majority); verify needs it to pass, and
	// retries while it fails.
	MainName func(ctx context.Context, site string) (string, error)
	// Providers, when set, are written by the dns step and asked by verify.
	Providers DNSProviders
	// LastKnownFlush is the old primary's last flush position the daemon observed,
	// used when the old primary cannot be read any more (nil: unknown).
	LastKnownFlush func() data.LSN
	// LastPromise is how the old primary kept the mirror set's data-loss mode at the
	// daemon's last observation of it, for a failover that cannot read it any more
	// (nil: unknown). LossMode is the mode the fleet gives the set ("" for none).
	LastPromise func() *data.Promise
	LossMode    v1alpha1.DataLossMode
	// MaxAutoLoss is the most WAL (bytes) an automatic failover may lose (the mirror
	// set's maxLagOnFailover); nil: no bound. A person's decision is not bounded.
	MaxAutoLoss *int64
	// RestoreWhenNoMember is the set's spec.backup.restoreWhenNoMember: a failover that
	// finds no member of the set alive anywhere rebuilds the target's member from the
	// archive (when Data is a data.ArchiveRestorer). LastArchive is the old primary's
	// archiving at the daemon's last reading of it (nil: never read).
	RestoreWhenNoMember bool
	LastArchive         func() *data.ArchiveSeen
	// VerifyWait bounds how long the data marker is awaited on the target's members
	// (default 2 s); the other sites' members are not waited for (a fenced old primary
	// never shows the marker).
	VerifyWait time.Duration
	// Drain is how long the old site keeps serving after the dns step of a planned
	// move before standby-old scales it down: the answers' TTL, so that a client that
	// cached the old site's address still reaches a working application (it writes to
	// the new primary from there). Zero scales down at once.
	Drain time.Duration
	Log   *slog.Logger
}

// Steps returns every step of every plan bound to env, by name (Engine.Steps).
func (env *Env) Steps() map[string]Step {
	out := map[string]Step{}
	for _, d := range allDefs() {
		out[d.Name] = d.Bind(env)
	}
	return out
}
