package discovery

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/objects"
)

// importedBy says whether discovery made o for app.
func importedBy(o *unstructured.Unstructured, app string) bool {
	a := o.GetAnnotations()
	return a[objects.AnnotationApplication] == app && a[objects.AnnotationImportedFrom] != ""
}

// Plan compares the imports a site should hold with its Services and EndpointSlices
// in the namespace: missing imports are created, changed ones updated (by content
// hash), imports whose export went away deleted, and a same-named object that
// discovery did not make is a conflict and is left alone.
func Plan(app, site string, desired, current []*unstructured.Unstructured) []objects.Change {
	cur := map[objects.Ref]*unstructured.Unstructured{}
	for _, o := range current {
		cur[objects.RefOf(o)] = o
	}
	want := map[objects.Ref]bool{}
	var out []objects.Change
	for _, d := range desired {
		ref := objects.RefOf(d)
		want[ref] = true
		c := objects.Change{Site: site, Ref: ref, Desired: d, Current: cur[ref]}
		switch o := cur[ref]; {
		case o == nil:
			c.Action, c.Reason = objects.ActionCreate, "export of "+d.GetAnnotations()[objects.AnnotationImportedFrom]
		case !importedBy(o, app):
			c.Action, c.Reason = objects.ActionConflict, "a "+ref.Kind+" of this name exists on "+site+" and was not imported by hadron; left alone"
		case o.GetAnnotations()[objects.AnnotationContentHash] != d.GetAnnotations()[objects.AnnotationContentHash]:
			c.Action, c.Reason = objects.ActionUpdate, "export changed"
		default:
			c.Action = objects.ActionInSync
		}
		out = append(out, c)
	}
	for ref, o := range cur {
		if !want[ref] && importedBy(o, app) {
			out = append(out, objects.Change{Site: site, Ref: ref, Current: o, Action: objects.ActionDelete, Reason: "export removed"})
		}
	}
	objects.SortChanges(out)
	return out
}
