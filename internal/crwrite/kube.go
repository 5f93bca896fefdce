package crwrite

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/crstatus"
	"hadron.dev/hadron/internal/site"
)

// The resources whose status is written.
var (
	sites        = schema.GroupVersionResource{Group: "hadron.dev", Version: "v1alpha1", Resource: "sites"}
	applications = schema.GroupVersionResource{Group: "hadron.dev", Version: "v1alpha1", Resource: "applications"}
	mirrorSets   = schema.GroupVersionResource{Group: "hadron.dev", Version: "v1alpha1", Resource: "mirrorsets"}
)

// EventNamespace holds the Events of hadron's objects, which are cluster-scoped: it is
// where Kubernetes' own recorder puts the events of cluster-scoped objects, and where
// `kubectl describe` and `kubectl events` find them.
const EventNamespace = "default"

// Controller is the events' reportingController.
const Controller = "hadron.dev/daemon"

// noteLimit is events/v1's limit on a note, in bytes.
const noteLimit = 1024

// desired is what one round wants in one cluster.
type desired struct {
	apps   map[string]v1alpha1.ApplicationStatus
	sets   map[string]v1alpha1.MirrorSetStatus
	sites  map[string]v1alpha1.SiteStatus
	events map[string][]crstatus.Event // application → events
}

// applySite writes d into one cluster: one list per resource, a status update only
// for an object whose status differs, at most budget updates, and the events of the
// applications present there.
func (w *Writer) applySite(ctx context.Context, c *site.Conn, d desired) (Result, error) {
	var res Result
	budget := w.MaxWrites
	if budget <= 0 {
		budget = DefaultMaxWrites
	}
	appUIDs := map[string]types.UID{}
	err := writeEach(w, ctx, c, applications, d.apps, &budget, &res, appUIDs,
		func(a *v1alpha1.Application) (*v1alpha1.ApplicationStatus, int64) { return a.Status, a.Generation },
		func(s *v1alpha1.ApplicationStatus) (*int64, *[]metav1.Condition) {
			return &s.ObservedGeneration, &s.Conditions
		})
	if err == nil {
		err = writeEach(w, ctx, c, mirrorSets, d.sets, &budget, &res, nil,
			func(m *v1alpha1.MirrorSet) (*v1alpha1.MirrorSetStatus, int64) { return m.Status, m.Generation },
			func(s *v1alpha1.MirrorSetStatus) (*int64, *[]metav1.Condition) {
				return &s.ObservedGeneration, &s.Conditions
			})
	}
	if err == nil {
		err = writeEach(w, ctx, c, sites, d.sites, &budget, &res, nil,
			func(s *v1alpha1.Site) (*v1alpha1.SiteStatus, int64) { return s.Status, s.Generation },
			func(s *v1alpha1.SiteStatus) (*int64, *[]metav1.Condition) {
				return &s.ObservedGeneration, &s.Conditions
			})
	}
	if err != nil {
		return res, err
	}
	for app, evs := range d.events {
		uid, ok := appUIDs[app]
		if !ok {
			continue // no such object in this cluster: nothing to attach them to
		}
		for i, e := range evs {
			if err := w.event(ctx, c, app, uid, i, e); err != nil {
				return res, fmt.Errorf("event %s on %s: %w", e.Reason, app, err)
			}
			res.Events++
		}
	}
	return res, nil
}

// writeEach writes want's status into every object of gvr in c that it names (an
// object of type O whose status is S; see statusChange); uids, when not nil, gets the
// UID of each object written or found current.
func writeEach[O, S any](w *Writer, ctx context.Context, c *site.Conn, gvr schema.GroupVersionResource, want map[string]S,
	budget *int, res *Result, uids map[string]types.UID, status func(*O) (*S, int64), fields func(*S) (*int64, *[]metav1.Condition)) error {
	return w.eachObject(ctx, c, gvr, func(o *unstructured.Unstructured) error {
		s, ok := want[o.GetName()]
		if !ok {
			return nil
		}
		if uids != nil {
			uids[o.GetName()] = o.GetUID()
		}
		return w.writeStatus(ctx, c, gvr, o, budget, res, statusChange(s, w.now, status, fields))
	})
}

// eachObject lists a resource and calls fn for every object. A cluster without the
// CRD is reported once at info and skipped: the daemon works from its fleet file
// alone.
func (w *Writer) eachObject(ctx context.Context, c *site.Conn, gvr schema.GroupVersionResource, fn func(*unstructured.Unstructured) error) error {
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	list, err := c.Dynamic.Resource(gvr).List(lctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		if w.noteAbsent(c.Name, gvr.Resource, true) {
			w.log().Info("custom resource not installed in this cluster; not writing its status", "site", c.Name, "resource", gvr.Resource)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing %s: %w", gvr.Resource, err)
	}
	w.noteAbsent(c.Name, gvr.Resource, false)
	for i := range list.Items {
		if err := fn(&list.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeStatus updates o's status subresource when change says it differs. A conflict
// (someone wrote the object since the list) reads it again and decides again.
// statusChange is writeStatus's change for an object of type O whose status is S: want,
// with the object's generation and the transition times of unchanged conditions
// carried over; no change when that equals the status the object has.
func statusChange[O, S any](want S, now func() time.Time, status func(*O) (*S, int64),
	fields func(*S) (*int64, *[]metav1.Condition)) func(obj map[string]any) (bool, map[string]any, error) {
	return func(obj map[string]any) (bool, map[string]any, error) {
		var cur O
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &cur); err != nil {
			return false, nil, err
		}
		st, gen := status(&cur)
		var old S
		if st != nil {
			old = *st
		}
		next := want
		observed, conds := fields(&next)
		*observed = gen
		_, oldConds := fields(&old)
		*conds = crstatus.MergeConditions(*oldConds, *conds, gen, now())
		if apiequality.Semantic.DeepEqual(old, next) {
			return false, nil, nil
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&next)
		return true, u, err
	}
}

func (w *Writer) writeStatus(ctx context.Context, c *site.Conn, gvr schema.GroupVersionResource, o *unstructured.Unstructured, budget *int,
	res *Result, change func(obj map[string]any) (bool, map[string]any, error)) error {
	res2 := c.Dynamic.Resource(gvr)
	cur := o
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		differs, status, err := change(cur.Object)
		if err != nil || !differs {
			if err == nil {
				res.Unchanged++
			}
			return err
		}
		if *budget <= 0 {
			return nil // the next round writes it
		}
		next := cur.DeepCopy()
		next.Object["status"] = status
		uctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		_, err = res2.UpdateStatus(uctx, next, metav1.UpdateOptions{FieldManager: site.FieldManager})
		if apierrors.IsConflict(err) {
			if fresh, gerr := res2.Get(uctx, o.GetName(), metav1.GetOptions{}); gerr == nil {
				cur = fresh
			}
			return err
		}
		if err == nil {
			*budget--
			res.Written++
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // deleted since the list
	}
	if err != nil {
		return fmt.Errorf("status of %s %s: %w", gvr.Resource, o.GetName(), err)
	}
	return nil
}

// event writes one events/v1 Event about application app.
func (w *Writer) event(ctx context.Context, c *site.Conn, app string, uid types.UID, i int, e crstatus.Event) error {
	now := w.now()
	note := e.Note
	if len(note) > noteLimit {
		note = strings.ToValidUTF8(note[:noteLimit-3], "") + "..."
	}
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", app, now.UnixNano()+int64(i)), Namespace: EventNamespace},
		EventTime:  metav1.NewMicroTime(now),
		Type:       e.Type, Reason: e.Reason, Action: e.Action, Note: note,
		ReportingController: Controller, ReportingInstance: w.Instance,
		Regarding: corev1Ref(app, uid),
	}
	ectx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := c.Kube.EventsV1().Events(EventNamespace).Create(ectx, ev, metav1.CreateOptions{})
	return err
}

// callTimeout bounds one request to a site's API server: a site down must not hold
// the round past its interval.
const callTimeout = 5 * time.Second

func (w *Writer) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}
