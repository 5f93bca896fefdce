package discovery

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/replicate"
)

// importedBy says whether discovery made o for app.
func importedBy(o *unstructured.Unstructured, app string) bool {
	a := o.GetAnnotations()
	return a[replicate.AnnotationApplication] == app && a[replicate.AnnotationImportedFrom] != ""
}

// Plan compares the imports a site should hold with its Services and EndpointSlices
// in the namespace: missing imports are created, changed ones updated (by content
// hash), imports whose export went away deleted, and a same-named object that
// discovery did not make is a conflict and is left alone.
func Plan(app, site string, desired, current []*unstructured.Unstructured) []replicate.Change {
	cur := map[replicate.Ref]*unstructured.Unstructured{}
	for _, o := range current {
		cur[replicate.RefOf(o)] = o
	}
	want := map[replicate.Ref]bool{}
	var out []replicate.Change
	for _, d := range desired {
		ref := replicate.RefOf(d)
		want[ref] = true
		c := replicate.Change{Site: site, Ref: ref, Desired: d, Current: cur[ref]}
		switch o := cur[ref]; {
		case o == nil:
			c.Action, c.Reason = replicate.ActionCreate, "export of "+d.GetAnnotations()[replicate.AnnotationImportedFrom]
		case !importedBy(o, app):
			c.Action, c.Reason = replicate.ActionConflict, "a "+ref.Kind+" of this name exists on "+site+" and was not imported by hadron; left alone"
		case o.GetAnnotations()[replicate.AnnotationContentHash] != d.GetAnnotations()[replicate.AnnotationContentHash]:
			c.Action, c.Reason = replicate.ActionUpdate, "export changed"
		default:
			c.Action = replicate.ActionInSync
		}
		out = append(out, c)
	}
	for ref, o := range cur {
		if !want[ref] && importedBy(o, app) {
			out = append(out, replicate.Change{Site: site, Ref: ref, Current: o, Action: replicate.ActionDelete, Reason: "export removed"})
		}
	}
	replicate.SortChanges(out)
	return out
}
