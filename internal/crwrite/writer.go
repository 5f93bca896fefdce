// Package crwrite writes what crstatus decides into the sites' clusters: the status
// subresource of the Site, Application and MirrorSet objects and events/v1 Events on the
// Applications. The daemon's leader runs one Writer per leadership term; each Round
// reads the daemon's status, the open runs and the ledger through Source, and writes
// only what changed. See docs/design/custom-resources.md.
package crwrite

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/crstatus"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// DefaultMaxWrites bounds the status updates of one round in one cluster: a fleet of
// many applications whose status all changed at once (a region lost) is written over
// a few rounds instead of in one burst.
const DefaultMaxWrites = 50

// Source is what a round reads; the daemon backs it with its status and etcd.
type Source struct {
	// Status is the daemon's status, what `hadron status` prints.
	Status func(ctx context.Context) api.Status
	// Open is app's open run, nil when none.
	Open func(ctx context.Context, app string) (*runbook.Record, error)
	// Last is the newest run of app in the ledger, nil when none.
	Last func(ctx context.Context, app string) (*runbook.Record, error)
}

// Writer writes the custom resources' status and Events. Its zero value with Fleet,
// Source and Connect is ready; it keeps what it saw between rounds, so one Writer
// serves one leadership term and is not shared.
type Writer struct {
	Fleet *fleet.Fleet
	Source
	// Connect opens (or returns the cached) connection to a site's cluster.
	Connect func(site string) (*site.Conn, error)
	// Instance is the events' reportingInstance: the daemon writing them.
	Instance string
	// MaxWrites bounds the status updates per cluster and round (default
	// DefaultMaxWrites).
	MaxWrites int
	Now       func() time.Time
	Log       *slog.Logger

	looked bool                     // a round has set the baseline
	seen   map[string]crstatus.Seen // app → what the last round saw
	last   map[string]*runbook.Record
	mu     sync.Mutex
	absent map[string]bool   // site/resource → CRD not installed
	errs   map[string]string // site → last round's error
}

// Round reads once and writes into every site's cluster; it returns what it wrote
// in all of them and the clusters' errors, after trying them all. The first round of a Writer sets the
// baseline of runs and decisions and emits no Events for them: a new leader does not
// repeat what its predecessor reported.
func (w *Writer) Round(ctx context.Context) (Result, error) {
	st := w.Status(ctx)
	d := desired{apps: map[string]v1alpha1.ApplicationStatus{}, sets: map[string]v1alpha1.MirrorSetStatus{}, events: map[string][]crstatus.Event{},
		sites: map[string]v1alpha1.SiteStatus{}}
	for _, s := range w.Fleet.Sites {
		d.sites[s.Name] = crstatus.Site(s.Name, st)
	}
	if w.seen == nil {
		w.seen, w.last = map[string]crstatus.Seen{}, map[string]*runbook.Record{}
	}
	for _, a := range st.Apps {
		open, err := w.Open(ctx, a.Name)
		if err != nil {
			w.log().Debug("open run not read; status without it this round", "app", a.Name, "err", err)
			continue
		}
		prev := w.seen[a.Name]
		cur := crstatus.SeenOf(a, open)
		var closed *runbook.Record
		// The ledger is read whenever no run is open: a run can open and close between
		// two rounds, and its Events are owed all the same.
		known, ok := w.last[a.Name]
		if !ok || open == nil || (prev.Run != nil && open.ID != prev.Run.ID) {
			last, err := w.Last(ctx, a.Name)
			if err != nil {
				w.log().Debug("ledger not read", "app", a.Name, "err", err)
				continue
			}
			w.last[a.Name] = last
			if ok && last != nil && (known == nil || known.ID != last.ID) {
				closed = last
			}
		}
		if w.looked {
			if evs := crstatus.Events(prev, cur, closed); len(evs) > 0 {
				d.events[a.Name] = evs
			}
		}
		w.seen[a.Name] = cur
		d.apps[a.Name] = crstatus.Application(a, w.last[a.Name])
		if a.Data != nil {
			d.sets[a.Data.Name] = crstatus.MirrorSet(a.Data)
		}
	}
	w.looked = true
	return w.write(ctx, d)
}

// Result counts what a round did: status updates, statuses found current, Events.
type Result struct {
	Written, Unchanged, Events int
}

// write applies d to every site with a cluster, concurrently: a site down costs its
// own timeouts, not the others'.
func (w *Writer) write(ctx context.Context, d desired) (Result, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(w.Fleet.Sites))
	results := make([]Result, len(w.Fleet.Sites))
	for i, s := range w.Fleet.Sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := w.Connect(s.Name)
			if errors.Is(err, site.ErrNoCluster) {
				return // a witness
			}
			if err != nil {
				errs[i] = err
				return
			}
			res, err := w.applySite(ctx, c, d)
			results[i] = res
			if w.newError(s.Name, err) {
				w.log().Warn("custom resources' status not written", "site", s.Name, "err", err)
			}
			if err != nil {
				errs[i] = err
				return
			}
			if res.Written > 0 || res.Events > 0 {
				w.log().Info("custom resources' status written", "site", s.Name, "statuses", res.Written, "unchanged", res.Unchanged, "events", res.Events)
			}
		}()
	}
	wg.Wait()
	var total Result
	for _, r := range results {
		total.Written += r.Written
		total.Unchanged += r.Unchanged
		total.Events += r.Events
	}
	return total, errors.Join(errs...)
}

// newError records a site's last error (nil: none) and reports whether it is a new
// one: a cluster that refuses (RBAC without the status permission, a site down) is
// logged when that starts or changes, not every round.
func (w *Writer) newError(siteName string, err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.errs == nil {
		w.errs = map[string]string{}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	was := w.errs[siteName]
	w.errs[siteName] = msg
	return msg != "" && msg != was
}

// noteAbsent records whether a site lacks a resource and reports whether that is
// news (so that it is logged once, not every round).
func (w *Writer) noteAbsent(siteName, resource string, absent bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.absent == nil {
		w.absent = map[string]bool{}
	}
	k := siteName + "/" + resource
	was := w.absent[k]
	w.absent[k] = absent
	return absent && !was
}

func (w *Writer) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func corev1Ref(app string, uid types.UID) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion, Kind: "Application", Name: app, UID: uid}
}
