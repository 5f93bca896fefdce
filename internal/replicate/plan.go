package replicate

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what the planner decided for one object on one site.
type Action string

const (
	ActionCreate   Action = "create"
	ActionUpdate   Action = "update"
	ActionDelete   Action = "delete"
	ActionInSync   Action = "in-sync"
	ActionConflict Action = "conflict"
	ActionDeferred Action = "deferred"
	ActionError    Action = "error"
)

// Change is one decision of the planner.
type Change struct {
	Site   string `json:"site"`
	Ref    Ref    `json:"ref"`
	Action Action `json:"action"`
	// Reason says why, in words; Diff lists the drifted fields of an update.
	Reason string   `json:"reason,omitempty"`
	Diff   []string `json:"diff,omitempty"`
	// Desired is what to write (create, update, deferred); Current what the site has.
	Desired *unstructured.Unstructured `json:"-"`
	Current *unstructured.Unstructured `json:"-"`
	Err     error                      `json:"-"`
}

// Mutates says whether applying the change writes to the site.
func (c Change) Mutates() bool {
	return c.Action == ActionCreate || c.Action == ActionUpdate || c.Action == ActionDelete
}

// OwnedBy says whether replication wrote o for app. Objects that cross-site
// discovery imported are discovery's, not replication's.
func OwnedBy(o *unstructured.Unstructured, app string) bool {
	a := o.GetAnnotations()
	return a[AnnotationApplication] == app && a[AnnotationSourceSite] != "" && a[AnnotationImportedFrom] == ""
}

// Decide plans one object on one site. d is nil when the source has no such object
// (or it must not be copied); cur is nil when the site has none. ok is false when
// there is nothing to say: neither side has an object hadron cares about.
func Decide(app, site string, d *Desired, cur *unstructured.Unstructured) (c Change, ok bool) {
	c.Site = site
	switch {
	case d != nil:
		c.Ref = d.Ref
	case cur != nil:
		c.Ref = RefOf(cur)
	default:
		return c, false
	}
	if cur != nil && cur.GetAnnotations()[AnnotationDeferredStore] != "" {
		return c, false // hadron's own bookkeeping, not a copy of a source object
	}
	if d != nil && d.Outcome == Skip {
		d = nil
	}
	owned := cur != nil && OwnedBy(cur, app)
	c.Current = cur
	switch {
	case d == nil && !owned:
		return c, false
	case d == nil:
		c.Action, c.Reason = ActionDelete, "no longer on the active site"
	case d.Err != nil:
		c.Action, c.Reason, c.Err = ActionError, d.Err.Error(), d.Err
	case cur != nil && !owned:
		c.Action = ActionConflict
		c.Reason = "exists on " + site + " without hadron's ownership annotations; left alone"
		if other := cur.GetAnnotations()[AnnotationApplication]; other != "" {
			c.Reason = fmt.Sprintf("owned by application %s; left alone", other)
		}
	case d.Outcome == Defer && cur != nil:
		c.Action, c.Reason = ActionDelete, d.Reason
	case d.Outcome == Defer:
		c.Action, c.Reason, c.Desired = ActionDeferred, d.Reason, d.Object
	case cur == nil:
		c.Action, c.Desired, c.Reason = ActionCreate, d.Object, "missing"
	default:
		c.Desired = d.Object
		hashOK := cur.GetAnnotations()[AnnotationContentHash] == d.Object.GetAnnotations()[AnnotationContentHash]
		c.Diff = Drift(d.Object, cur)
		switch {
		case hashOK && len(c.Diff) == 0:
			c.Action = ActionInSync
		case !hashOK && len(c.Diff) == 0:
			c.Action, c.Reason = ActionUpdate, "source changed"
		case hashOK:
			c.Action, c.Reason = ActionUpdate, "drifted on "+site
		default:
			c.Action, c.Reason = ActionUpdate, "source changed"
		}
	}
	return c, true
}

// Plan compares every desired object for a site with every object the site holds,
// and returns the changes in a stable order (by kind, namespace, name). Objects on the
// site that hadron does not own and that nothing desired names are not mentioned.
func Plan(app, site string, desired []Desired, current []*unstructured.Unstructured) []Change {
	cur := make(map[Ref]*unstructured.Unstructured, len(current))
	for _, o := range current {
		cur[RefOf(o)] = o
	}
	seen := make(map[Ref]bool, len(desired))
	var out []Change
	for i := range desired {
		d := &desired[i]
		seen[d.Ref] = true
		if c, ok := Decide(app, site, d, cur[d.Ref]); ok {
			out = append(out, c)
		}
	}
	for ref, o := range cur {
		if seen[ref] {
			continue
		}
		if c, ok := Decide(app, site, nil, o); ok {
			out = append(out, c)
		}
	}
	SortChanges(out)
	return out
}

// SortChanges orders changes by site, then by the order objects are applied in.
func SortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		if ra, rb := applyRank(a.Ref.Kind), applyRank(b.Ref.Kind); ra != rb {
			return ra < rb
		}
		return a.Ref.String() < b.Ref.String()
	})
}

// applyRank puts what others refer to first (config before the workloads using it).
func applyRank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Role", "RoleBinding":
		return 1
	case "Service":
		return 2
	default:
		return 3
	}
}

// Summary counts changes by action.
func Summary(cs []Change) map[Action]int {
	m := map[Action]int{}
	for _, c := range cs {
		m[c.Action]++
	}
	return m
}
