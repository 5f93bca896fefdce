package replicate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/site"
)

// Bounds of one call to a site.
const (
	// listTimeout bounds one list call.
	listTimeout = 30 * time.Second
	// applyTimeout bounds one write to a stand-by site.
	applyTimeout = 15 * time.Second
)

// Snapshot is one look at an application on all its sites: the active site's
// objects, what each stand-by holds, and the plan between them.
type Snapshot struct {
	App    string
	Active string
	// Source are the active site's objects of the replicated kinds.
	Source []*unstructured.Unstructured
	// Changes is the plan for every stand-by site (in-sync objects included).
	Changes []objects.Change
	// MissingKinds lists, per stand-by site, the kinds the active site has objects of
	// that the stand-by does not serve (a CRD not installed).
	MissingKinds map[string][]schema.GroupKind
	// Unresolved are replicated kinds the active site does not serve (informational).
	Unresolved []schema.GroupKind
	// Warnings are problems of the application as a whole (a selector that matches
	// nothing).
	Warnings []string
}

// Take lists the application's objects on the active site and on each stand-by,
// transforms and plans: the same functions the Replicator uses, so `hadron plan`
// and `hadron check parity` say what replication does.
func Take(ctx context.Context, app *v1alpha1.Application, active *site.Conn, standbys []*site.Conn, log *slog.Logger) (*Snapshot, error) {
	if log == nil {
		log = slog.Default()
	}
	rules, err := CompileRules(app.Spec.Replication)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", app.Name, err)
	}
	gvks, err := Kinds(app)
	if err != nil {
		return nil, err
	}
	kinds, unresolved := resolve(active, gvks, log)
	snap := &Snapshot{App: app.Name, Active: active.Name, MissingKinds: map[string][]schema.GroupKind{}, Unresolved: unresolved}
	sel := ""
	if app.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(app.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("plan %s: selector: %w", app.Name, err)
		}
		sel = s.String()
	}
	ns := app.Spec.Namespace
	perKind := make([][]*unstructured.Unstructured, len(kinds))
	for i, k := range kinds {
		s := sel
		if k.GVK.Group == "" && k.GVK.Kind == "Secret" {
			s = "" // named by the policy, not selected
		}
		objs, err := list(ctx, active, k, ns, s)
		if err != nil {
			return nil, err
		}
		if s == "" && sel != "" {
			objs = namedSecrets(app, objs)
		}
		perKind[i] = objs
		snap.Source = append(snap.Source, objs...)
	}
	if len(snap.Source) == 0 {
		snap.Warnings = append(snap.Warnings, fmt.Sprintf("selector %q matches no objects in namespace %s on %s: nothing to replicate", sel, ns, active.Name))
	}
	for _, sb := range standbys {
		t := TargetFor(app, active.Name, sb.Name, rules)
		var desired []Desired
		var current []*unstructured.Unstructured
		for i, k := range kinds {
			var ds []Desired
			for _, o := range perKind[i] {
				ds = append(ds, Transform(o, t))
			}
			if _, err := mapping(sb, k.GVK); err != nil {
				if anyApplied(ds) {
					snap.MissingKinds[sb.Name] = append(snap.MissingKinds[sb.Name], k.GVK.GroupKind())
					for _, d := range ds {
						if d.Outcome == Apply && d.Err == nil {
							e := fmt.Errorf("%s on %s: %w: %s (install it on %s)", d.Ref, sb.Name, ErrUnknownKind, k.GVK.GroupKind(), sb.Name)
							snap.Changes = append(snap.Changes, objects.Change{Site: sb.Name, Ref: d.Ref, Action: objects.ActionError, Reason: e.Error(), Err: e})
						}
					}
				}
				continue
			}
			cur, err := list(ctx, sb, k, ns, "")
			if err != nil {
				return nil, err
			}
			desired = append(desired, ds...)
			current = append(current, cur...)
		}
		snap.Changes = append(snap.Changes, Plan(app.Name, sb.Name, desired, current)...)
	}
	objects.SortChanges(snap.Changes)
	return snap, nil
}

// namedSecrets keeps the Secrets the policy names: the others are none of
// replication's business and do not count as the application's objects.
func namedSecrets(app *v1alpha1.Application, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	names := map[string]bool{}
	if r := app.Spec.Replication; r != nil {
		for _, n := range r.Secrets {
			names[n] = true
		}
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if names[o.GetName()] {
			out = append(out, o)
		}
	}
	return out
}

func anyApplied(ds []Desired) bool {
	for _, d := range ds {
		if d.Outcome == Apply {
			return true
		}
	}
	return false
}

func list(ctx context.Context, c *site.Conn, k Kind, ns, sel string) ([]*unstructured.Unstructured, error) {
	if s, err := labels.Parse(sel); err == nil {
		if objs, ok := c.Cached(k.GVR, ns, isSecret(k.GVK), s); ok {
			return withKind(objs, k.GVK), nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	l, err := c.Dynamic.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("site %s: list %s: %w", c.Name, k.GVR.Resource, err)
	}
	out := make([]*unstructured.Unstructured, 0, len(l.Items))
	for i := range l.Items {
		o := &l.Items[i]
		// Lists leave apiVersion and kind off their items' TypeMeta in some encodings.
		o.SetGroupVersionKind(k.GVK)
		out = append(out, o)
	}
	return out, nil
}

// withKind returns cached objects with their kind set: a copy of the few that lack it,
// since the cache's own are shared with replication.
func withKind(objs []*unstructured.Unstructured, gvk schema.GroupVersionKind) []*unstructured.Unstructured {
	for i, o := range objs {
		if o.GroupVersionKind() != gvk {
			c := o.DeepCopy()
			c.SetGroupVersionKind(gvk)
			objs[i] = c
		}
	}
	return objs
}
