package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

// observed is what this daemon knows of every observer's probes: the tracker that turns
// them into the quorum's verdicts, each observer's latest result (status, liveness of
// the daemons, which sites a failover may go to) and each failing streak's start (the
// system RTO's first failed probe, firstfailure.go). It follows etcd (coordstate's
// Observations call record) and owns its state under its own lock.
type observed struct {
	observers []string // the daemons' sites: every observer of the fleet
	tracker   *probe.Tracker
	// changed is signalled when a verdict changes: the leader publishes at once.
	changed chan struct{}

	mu sync.Mutex
	// latest is every observer's latest result: app → observer → site.
	latest  map[string]map[string]map[string]probe.Observation
	failing map[failKey]time.Time // first failure of each observer's current failing streak
	healthy map[siteKey]time.Time // when the quorum last saw each site healthy
}

func newObserved(f *fleet.Fleet, log *slog.Logger) *observed {
	o := &observed{changed: make(chan struct{}, 1),
		latest: map[string]map[string]map[string]probe.Observation{}, failing: map[failKey]time.Time{},
		healthy: map[siteKey]time.Time{}}
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			o.observers = append(o.observers, s.Name)
		}
	}
	o.tracker = &probe.Tracker{OnChange: func(app, site string, v probe.Verdict) {
		log.Info("site verdict", "app", app, "site", site, "verdict", v)
		select {
		case o.changed <- struct{}{}:
		default:
		}
	}}
	for _, a := range f.Applications {
		o.tracker.Watch(a.Name, o.observers, probe.AppSites(a), probe.SettingsOf(a.Spec.Health))
	}
	return o
}

// record takes one observer's result from etcd: into the tracker that decides, and
// into the latest-result table.
func (o *observed) record(ob probe.Observation) {
	o.mu.Lock()
	byObserver := o.latest[ob.App]
	if byObserver == nil {
		byObserver = map[string]map[string]probe.Observation{}
		o.latest[ob.App] = byObserver
	}
	if byObserver[ob.Observer] == nil {
		byObserver[ob.Observer] = map[string]probe.Observation{}
	}
	byObserver[ob.Observer][ob.Site] = ob
	k := failKey{app: ob.App, site: ob.Site, observer: ob.Observer}
	if ob.OK {
		delete(o.failing, k)
	} else if _, ok := o.failing[k]; !ok {
		o.failing[k] = ob.At
	}
	o.mu.Unlock()
	o.tracker.Record(ob)
	o.noteHealthy(ob)
}

// followActive starts a site's verdict over when an application's active site moves
// to it (a run's dns step, coordstate.Activate): the "down" it earned as a scaled-down
// stand-by must not send its traffic elsewhere, and the leader, seeing the verdict
// change, publishes the new one. The first synced state is the baseline.
func (o *observed) followActive(ctx context.Context, store interface {
	gslb.Store
	Synced() bool
}) {
	changes, err := store.Watch(ctx)
	if err != nil {
		return
	}
	var seen map[string]string
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-changes:
			if !store.Synced() {
				continue
			}
			now := time.Now()
			active := make(map[string]string, len(st.Apps))
			for app, as := range st.Apps {
				active[app] = as.Active
				if prev, ok := seen[app]; seen != nil && as.Active != "" && (!ok || prev != as.Active) {
					o.tracker.Restart(app, as.Active, now)
				}
			}
			seen = active
		}
	}
}

// verdicts are the quorum's verdicts of app's sites as this daemon decides them.
func (o *observed) verdicts(app string) map[string]probe.Verdict { return o.tracker.Verdicts(app) }

// reachedByQuorum are app's sites that a majority of observers reached lately (an
// HTTP answer, even a failing one): the sites a failover may go to although their
// application is not serving yet.
func (o *observed) reachedByQuorum(app string, fresh time.Duration, now time.Time) map[string]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	count := map[string]int{}
	for _, sites := range o.latest[app] {
		for s, ob := range sites {
			if ob.Reached && now.Sub(ob.At) <= fresh {
				count[s]++
			}
		}
	}
	out := map[string]bool{}
	for s, n := range count {
		if n > len(o.observers)/2 {
			out[s] = true
		}
	}
	return out
}

// alive are the daemons that published a probe result within aliveWithin: a daemon
// counts as alive while its results keep arriving through etcd.
func (o *observed) alive(now time.Time) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	fresh := map[string]bool{}
	for _, byObserver := range o.latest {
		for observer, sites := range byObserver {
			for _, ob := range sites {
				if now.Sub(ob.At) <= aliveWithin {
					fresh[observer] = true
				}
			}
		}
	}
	out := make([]string, 0, len(fresh))
	for observer := range fresh {
		out = append(out, observer)
	}
	return out
}

// forStatus is every observer's latest result of app's sites, for the API.
func (o *observed) forStatus(app string) map[string]map[string]api.Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]map[string]api.Observation{}
	for observer, sites := range o.latest[app] {
		out[observer] = map[string]api.Observation{}
		for site, ob := range sites {
			out[observer][site] = api.Observation{OK: ob.OK, Reached: ob.OK || ob.Reached, Error: ob.Err, At: ob.At.UTC(),
				LatencyMS: float64(ob.Latency.Microseconds()) / 1000}
		}
	}
	return out
}

// each calls f with every latest result, under the lock (metrics).
func (o *observed) each(f func(ob probe.Observation)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, byObserver := range o.latest {
		for _, sites := range byObserver {
			for _, ob := range sites {
				f(ob)
			}
		}
	}
}
