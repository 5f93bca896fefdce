package daemon

import (
	"context"
	"log/slog"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/memberpods"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// dataView is this daemon's side of the mirror sets: a driver for each set it can act
// on (and why not, for the others: datareach.go), each set's latest observation for
// status (datastatus.go), the newest primary flush it saw, and the local primaries it
// self-fenced (selffence.go, selffenced.go). Drivers are built once, at start.
type dataView struct {
	fleet  *fleet.Fleet
	site   string
	client *clientv3.Client
	log    *slog.Logger

	// Set at construction, read-only after.
	drivers   map[string]data.Driver
	noDriver  map[string]error // mirror sets this daemon cannot act on, and why
	localSets map[string]bool  // mirror sets with a member at this site
	reaches   *coordstate.DataReaches

	// actions is held while the in-region monitor acts; a runbook takes it once to wait
	// for actions in flight (monitor.go).
	actions sync.Mutex

	// fence is the quorum's decision for fenceLoop, the only goroutine that fences or
	// unfences the local primaries.
	fence *fenceDecision

	mu        sync.Mutex
	fenced    []selfFence // local primaries self-fenced, while they still are
	sets      map[string]api.DataSet
	lastFlush map[string]data.LSN // each set's newest primary flush seen
	// lastPromise is how each set's primary kept its data-loss mode at the last
	// observation that read a primary.
	lastPromise map[string]*data.Promise
	// lastArchive is each set's primary's archiving at the last observation that
	// read it: a failover's prediction of what a restore from the archive loses.
	lastArchive map[string]*data.ArchiveSeen
	// lastHealthy is each set's latest observation with a primary: a new leader's
	// monitor starts from it (monitor.Monitor.Initial).
	lastHealthy map[string]*data.SetStatus
}

// newDataView builds a driver for every mirror set, with the configuration the CLI
// uses (postgres.ConfigForSet): status observes them all, self-fencing acts on the
// members at the local site. A set with members in pods gets memberpods for what needs
// their files, through kube (the daemon's connections to the sites): the leader that
// rejoins one may run at any site. A set whose driver cannot be built (a password that
// cannot be read) is left out and recorded with why: this daemon cannot act on it.
func newDataView(ctx context.Context, f *fleet.Fleet, site *v1alpha1.Site, client *clientv3.Client, kube func(string) (kubernetes.Interface, error), log *slog.Logger) *dataView {
	v := &dataView{fleet: f, site: site.Name, client: client, log: log,
		drivers: map[string]data.Driver{}, noDriver: map[string]error{}, localSets: map[string]bool{},
		reaches: &coordstate.DataReaches{Client: client, Log: log},
		fence:   newFenceDecision(),
		sets:    map[string]api.DataSet{}, lastFlush: map[string]data.LSN{}, lastPromise: map[string]*data.Promise{},
		lastArchive: map[string]*data.ArchiveSeen{}, lastHealthy: map[string]*data.SetStatus{}}
	for _, set := range f.MirrorSets {
		cfg, err := postgres.ConfigForSet(ctx, f, set, site.Spec.Region, log)
		var drv *postgres.Driver
		if err == nil {
			if memberpods.InPods(set) {
				cfg.Pods = &memberpods.Pods{Set: set, Kube: kube, Log: log.With("component", "member-pods", "set", set.Name)}
			}
			drv, err = postgres.New(cfg)
		}
		if err != nil {
			log.Error("mirror set cannot be observed or fenced by this daemon", "set", set.Name, "err", err)
			v.noDriver[set.Name] = err
			continue
		}
		v.drivers[set.Name] = drv
		if hasMemberAt(set, site.Name) {
			v.localSets[set.Name] = true
		}
	}
	return v
}

func hasMemberAt(set *v1alpha1.MirrorSet, site string) bool {
	for _, m := range set.Spec.Members {
		if m.Site == site {
			return true
		}
	}
	return false
}

// driver is set's driver; nil when this daemon cannot act on it.
func (v *dataView) driver(set string) data.Driver { return v.drivers[set] }

// set is set's latest observation for status.
func (v *dataView) set(name string) (api.DataSet, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ds, ok := v.sets[name]
	return ds, ok
}

// eachSet calls f with every set's latest observation, under the lock (metrics).
func (v *dataView) eachSet(f func(api.DataSet)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ds := range v.sets {
		f(ds)
	}
}

// promiseSeen is how set's primary kept its data-loss mode at the last observation
// that read a primary (nil: never): for a failover that cannot read it any more.
func (v *dataView) promiseSeen(set string) *data.Promise {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p := v.lastPromise[set]; p != nil {
		c := *p
		return &c
	}
	return nil
}

// archiveSeen is set's archiving at the last observation that read it (nil: never).
func (v *dataView) archiveSeen(set string) *data.ArchiveSeen {
	v.mu.Lock()
	defer v.mu.Unlock()
	if a := v.lastArchive[set]; a != nil {
		c := *a
		return &c
	}
	return nil
}

// healthySeen is set's latest observation with a primary (nil: never).
func (v *dataView) healthySeen(set string) *data.SetStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastHealthy[set]
}

// newestFlush is the newest primary flush seen of set: for a failover that cannot read
// the old primary any more.
func (v *dataView) newestFlush(set string) data.LSN {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastFlush[set]
}
