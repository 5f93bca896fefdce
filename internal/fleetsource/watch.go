package fleetsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/site"
)

// ErrNotInstalled is returned when the cluster does not serve one of the fleet's
// custom resources (the CRDs of config/crd are not applied).
var ErrNotInstalled = errors.New("custom resource not installed (kubectl apply -f config/crd)")

// Reason is the Events' reason for a refused fleet.
const Reason = "FleetInvalid"

// The Events' reporting controller and namespace, as the status writer's
// (internal/crwrite): the namespace Kubernetes gives events of cluster-scoped objects.
const (
	controller     = "hadron.dev/daemon"
	eventNamespace = "default"
	noteLimit      = 1024
)

// DefaultDebounce is how long the watcher waits after a change for the next one before
// reading: `kubectl apply -f fleet/` changes several objects one by one, and a fleet
// half applied is often invalid (an application naming a site not created yet).
const DefaultDebounce = time.Second

// Watcher reads the fleet from one cluster and follows it.
type Watcher struct {
	Conn *site.Conn
	// Instance is the Events' reportingInstance: the daemon's site.
	Instance string
	// Debounce is the quiet time before a read (DefaultDebounce when zero).
	Debounce time.Duration
	Log      *slog.Logger
	Now      func() time.Time

	mu      sync.Mutex
	state   State
	current Snapshot
}

// Read lists the four kinds once and decides as the watch does: the first fleet of a
// daemon. An invalid fleet is reported (log and Events) and returned as its
// *fleet.Errors; a cluster without the CRDs returns ErrNotInstalled.
func (w *Watcher) Read(ctx context.Context) (Snapshot, error) {
	var objs []*unstructured.Unstructured
	for _, gvr := range Resources {
		lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		list, err := w.Conn.Dynamic.Resource(gvr).List(lctx, metav1.ListOptions{})
		cancel()
		if apierrors.IsNotFound(err) {
			return Snapshot{}, fmt.Errorf("%s.%s: %w", gvr.Resource, gvr.Group, ErrNotInstalled)
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("listing %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	}
	snap, err := Build(objs)
	w.mu.Lock()
	d := Decide(w.state, snap, err)
	w.state = d.Next
	if d.Action == Apply {
		w.current = snap
	}
	w.mu.Unlock()
	if err != nil {
		w.report(ctx, objs, err)
		return Snapshot{}, err
	}
	return snap, nil
}

// Run follows the cluster until ctx ends, calling apply with every new valid fleet
// (never with one equal to the one in force, never with an invalid one). Call it after
// a Read that returned a fleet. apply runs on Run's goroutine: the next read waits for
// it.
func (w *Watcher) Run(ctx context.Context, apply func(Snapshot, Change)) error {
	poke := make(chan struct{}, 1)
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { nudge(poke) },
		UpdateFunc: func(old, obj any) { changed(old, obj, poke) },
		DeleteFunc: func(any) { nudge(poke) },
	}
	var watches []*site.Watch
	defer func() {
		for _, wt := range watches {
			wt.Release()
		}
	}()
	for _, gvr := range Resources {
		wt, err := w.Conn.Watch(gvr, "", false, h)
		if err != nil {
			return err
		}
		watches = append(watches, wt)
	}
	debounce := w.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
			timer.Reset(debounce)
		case <-timer.C:
			objs, ok := cached(watches)
			if !ok {
				timer.Reset(debounce) // a cache not in yet would be a partial fleet
				continue
			}
			w.decide(ctx, objs, apply)
		}
	}
}

// changed pokes for an update only when what a fleet document holds may differ: a
// status write changes neither the generation nor the metadata a document keeps.
func changed(old, obj any, poke chan struct{}) {
	o, ok1 := old.(*unstructured.Unstructured)
	n, ok2 := obj.(*unstructured.Unstructured)
	if ok1 && ok2 && o.GetGeneration() == n.GetGeneration() && o.GetGeneration() != 0 &&
		equalMaps(o.GetLabels(), n.GetLabels()) && equalMaps(o.GetAnnotations(), n.GetAnnotations()) {
		return
	}
	nudge(poke)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func nudge(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// cached returns every object of the four caches once all are in.
func cached(watches []*site.Watch) ([]*unstructured.Unstructured, bool) {
	var objs []*unstructured.Unstructured
	for _, wt := range watches {
		if !wt.Synced() {
			return nil, false
		}
		list, err := wt.Lister.List(labels.Everything())
		if err != nil {
			return nil, false
		}
		for _, o := range list {
			if u, ok := o.(*unstructured.Unstructured); ok {
				objs = append(objs, u)
			}
		}
	}
	return objs, true
}

func (w *Watcher) decide(ctx context.Context, objs []*unstructured.Unstructured, apply func(Snapshot, Change)) {
	snap, err := Build(objs)
	w.mu.Lock()
	d := Decide(w.state, snap, err)
	w.state = d.Next
	old := w.current
	if d.Action == Apply {
		w.current = snap
	}
	w.mu.Unlock()
	switch {
	case d.Action == Refuse && d.Report:
		w.report(ctx, objs, err)
	case d.Recovered:
		w.log().Info("the fleet in the cluster is valid again", "hash", short(snap.Hash))
	}
	if d.Action == Apply {
		apply(snap, Diff(old, snap))
	}
}

// Current is the fleet in force: the last valid one read.
func (w *Watcher) Current() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.current
}

// Problem is the problem of the last read, "" when it was valid: the daemon runs the
// last good fleet meanwhile.
func (w *Watcher) Problem() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.Problem
}

// report logs a refused fleet and emits a Warning Event on each object it concerns.
func (w *Watcher) report(ctx context.Context, objs []*unstructured.Unstructured, err error) {
	w.log().Error("the fleet in the cluster is invalid: keeping the fleet in force", "err", err)
	byKey := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byKey[Key(o.GetKind(), o.GetName())] = o
	}
	problems := Problems(err)
	keys := make([]string, 0, len(problems))
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		o := byKey[k]
		if o == nil {
			continue // no object to attach it to: the log line says it
		}
		lines := make([]string, len(problems[k]))
		for j, fe := range problems[k] {
			fe.File = ""
			lines[j] = fe.Error()
		}
		note := "fleet refused, the daemons keep the last valid one: " + strings.Join(lines, "; ")
		if eerr := w.event(ctx, o, i, note); eerr != nil {
			w.log().Warn("cannot write the FleetInvalid event", "object", k, "err", eerr)
		}
	}
}

func (w *Watcher) event(ctx context.Context, o *unstructured.Unstructured, i int, note string) error {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	if len(note) > noteLimit {
		note = strings.ToValidUTF8(note[:noteLimit-3], "") + "..."
	}
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", o.GetName(), now.UnixNano()+int64(i)), Namespace: eventNamespace},
		EventTime:  metav1.NewMicroTime(now),
		Type:       corev1.EventTypeWarning, Reason: Reason, Action: "Validate", Note: note,
		ReportingController: controller, ReportingInstance: w.Instance,
		Regarding: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion, Kind: o.GetKind(), Name: o.GetName(), UID: o.GetUID()},
	}
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := w.Conn.Kube.EventsV1().Events(eventNamespace).Create(ectx, ev, metav1.CreateOptions{})
	return err
}

func (w *Watcher) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// short is a hash's first 12 digits, for logs.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
