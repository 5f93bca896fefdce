package replicate

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/objects"
)

// Decide plans one object on one site. d is nil when the source has no such object
// (or it must not be copied); cur is nil when the site has none. ok is false when
// there is nothing to say: neither side has an object hadron cares about.
func Decide(app, site string, d *Desired, cur *unstructured.Unstructured) (c objects.Change, ok bool) {
	c.Site = site
	switch {
	case d != nil:
		c.Ref = d.Ref
	case cur != nil:
		c.Ref = objects.RefOf(cur)
	default:
		return c, false
	}
	if cur != nil && cur.GetAnnotations()[objects.AnnotationDeferredStore] != "" {
		return c, false // hadron's own bookkeeping, not a copy of a source object
	}
	if d != nil && d.Outcome == Skip {
		d = nil
	}
	owned := cur != nil && objects.OwnedBy(cur, app)
	c.Current = cur
	switch {
	case d == nil && !owned:
		return c, false
	case d == nil:
		c.Action, c.Reason = objects.ActionDelete, "no longer on the active site"
	case d.Err != nil:
		c.Action, c.Reason, c.Err = objects.ActionError, d.Err.Error(), d.Err
	case cur != nil && !owned:
		c.Action = objects.ActionConflict
		c.Reason = "exists on " + site + " without hadron's ownership annotations; left alone"
		if other := cur.GetAnnotations()[objects.AnnotationApplication]; other != "" {
			c.Reason = fmt.Sprintf("owned by application %s; left alone", other)
		}
	case d.Outcome == Defer && cur != nil:
		c.Action, c.Reason = objects.ActionDelete, d.Reason
	case d.Outcome == Defer:
		c.Action, c.Reason, c.Desired = objects.ActionDeferred, d.Reason, d.Object
	case cur == nil:
		c.Action, c.Desired, c.Reason = objects.ActionCreate, d.Object, "missing"
	default:
		c.Desired = d.Object
		hashOK := cur.GetAnnotations()[objects.AnnotationContentHash] == d.Object.GetAnnotations()[objects.AnnotationContentHash]
		c.Diff = Drift(d.Object, cur)
		switch {
		case hashOK && len(c.Diff) == 0:
			c.Action = objects.ActionInSync
		case !hashOK && len(c.Diff) == 0:
			c.Action, c.Reason = objects.ActionUpdate, "source changed"
		case hashOK:
			c.Action, c.Reason = objects.ActionUpdate, "drifted on "+site
		default:
			c.Action, c.Reason = objects.ActionUpdate, "source changed"
		}
	}
	return c, true
}

// Plan compares every desired object for a site with every object the site holds,
// and returns the changes in a stable order (by kind, namespace, name). Objects on the
// site that hadron does not own and that nothing desired names are not mentioned.
func Plan(app, site string, desired []Desired, current []*unstructured.Unstructured) []objects.Change {
	cur := make(map[objects.Ref]*unstructured.Unstructured, len(current))
	for _, o := range current {
		cur[objects.RefOf(o)] = o
	}
	seen := make(map[objects.Ref]bool, len(desired))
	var out []objects.Change
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
	objects.SortChanges(out)
	return out
}
