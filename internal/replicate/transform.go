package replicate

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// Target describes the site an object is transformed for.
type Target struct {
	// App is the owning application's name.
	App string
	// Source is the active site objects come from; Site the stand-by they go to.
	Source, Site string
	// Style is the stand-by style (default pilot-light).
	Style v1alpha1.StandbyStyle
	// MainName is the application's main DNS name; SourceName and SiteName the
	// per-site names of the source and the target (empty when the app has no DNS).
	MainName, SourceName, SiteName string
	// Secrets are the Secret names the policy replicates.
	Secrets map[string]bool
	// Exported are Services that discovery owns on other sites; they are not copied.
	Exported map[string]bool
	// Rules are the compiled fleet rules that apply to Site, in order.
	Rules []Rule
}

// Outcome is what happens to one source object on one target site.
type Outcome int

const (
	// Apply: the object is written to the site.
	Apply Outcome = iota
	// Defer: the object is kept ready for failover but not applied (cold stand-by
	// workloads, pilot-light autoscalers).
	Defer
	// Skip: the object does not belong on other sites at all.
	Skip
)

// Desired is a transformed object and what to do with it.
type Desired struct {
	Ref     objects.Ref
	Object  *unstructured.Unstructured
	Outcome Outcome
	// Reason says why an object is deferred or skipped.
	Reason string
	// Err is a transform that failed for this object only (a patch that does not apply).
	Err error
}

// TargetFor builds the Target of one stand-by site from the fleet's application.
func TargetFor(app *v1alpha1.Application, source, site string, rules []Rule) Target {
	t := Target{App: app.Name, Source: source, Site: site, Style: app.Spec.Policy.Standby,
		Secrets: map[string]bool{}, Exported: map[string]bool{}}
	if t.Style == "" {
		t.Style = v1alpha1.StandbyPilotLight
	}
	if d := app.Spec.DNS; d != nil {
		t.MainName = d.Name
		t.SourceName, t.SiteName = SiteName(d, source), SiteName(d, site)
	}
	if r := app.Spec.Replication; r != nil {
		for _, s := range r.Secrets {
			t.Secrets[s] = true
		}
		for _, e := range r.Exports {
			t.Exported[e.Service] = true
		}
	}
	for _, r := range rules {
		if r.AppliesTo(site) {
			t.Rules = append(t.Rules, r)
		}
	}
	return t
}

// SiteName is the per-site DNS name of site: the fleet's, else <site>.<main name>.
func SiteName(d *v1alpha1.DNS, site string) string {
	if n := d.SiteNames[site]; n != "" {
		return n
	}
	return site + "." + d.Name
}

// Transform turns an active site's object into the object the target site should
// hold. The input is not modified. Steps, in order: skip what never crosses clusters,
// clean up cluster-specific fields, rewrite names for the site (seed 001), apply the
// fleet's rules, apply the stand-by style, then stamp ownership and the content hash.
func Transform(src *unstructured.Unstructured, t Target) Desired {
	d := Desired{Ref: objects.RefOf(src)}
	if reason := skipReason(src, t); reason != "" {
		d.Outcome, d.Reason = Skip, reason
		return d
	}
	o := src.DeepCopy()
	cleanup(o)
	rewriteForSite(o, t)
	for _, r := range t.Rules {
		if err := r.Apply(o); err != nil {
			d.Err = fmt.Errorf("%s on %s: %w", d.Ref, t.Site, err)
			return d
		}
	}
	d.Outcome, d.Reason = applyStyle(o, t.Style)
	if err := stamp(o, src, t); err != nil {
		d.Err = fmt.Errorf("%s on %s: %w", d.Ref, t.Site, err)
		return d
	}
	d.Object = o
	return d
}

// skipReason says why an object must not be copied at all, or "".
func skipReason(o *unstructured.Unstructured, t Target) string {
	if ref := metav1.GetControllerOf(o); ref != nil {
		return "made by its controller " + ref.Kind + "/" + ref.Name
	}
	if o.GetDeletionTimestamp() != nil {
		return "being deleted"
	}
	switch {
	case isKind(o, "", "Secret"):
		if typ, _, _ := unstructured.NestedString(o.Object, "type"); typ == "kubernetes.io/service-account-token" {
			return "service account tokens are minted by each cluster"
		}
		if !t.Secrets[o.GetName()] {
			return "secret not listed in the replication policy"
		}
	case isKind(o, "", "Service"):
		if t.Exported[o.GetName()] || o.GetLabels()[objects.LabelExport] == "true" {
			return "exported service: cross-site discovery owns its name on other sites"
		}
	case isKind(o, "", "ConfigMap"):
		if o.GetName() == "kube-root-ca.crt" {
			return "each cluster publishes its own root CA"
		}
	case isKind(o, "", "ServiceAccount"):
		if o.GetName() == "default" {
			return "each namespace gets its own default service account"
		}
	case isKind(o, "", "Pod"), isKind(o, "apps", "ReplicaSet"), isKind(o, "", "Endpoints"),
		isKind(o, "discovery.k8s.io", "EndpointSlice"), isKind(o, "", "Event"):
		return "made by the stand-by's controllers"
	}
	if o.GetAnnotations()[objects.AnnotationImportedFrom] != "" {
		return "imported from another site by cross-site discovery"
	}
	return ""
}

// stamp adds the site label, the ownership annotations and the content hash.
func stamp(o, src *unstructured.Unstructured, t Target) error {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[objects.LabelSite] = t.Site
	o.SetLabels(labels)
	ann := o.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[objects.AnnotationApplication] = t.App
	ann[objects.AnnotationSourceSite] = t.Source
	delete(ann, objects.AnnotationContentHash)
	delete(ann, objects.AnnotationSourceGeneration)
	delete(ann, objects.AnnotationSourceResourceVersion)
	o.SetAnnotations(ann)
	h, err := objects.ContentHash(o)
	if err != nil {
		return err
	}
	ann[objects.AnnotationContentHash] = h
	ann[objects.AnnotationSourceGeneration] = strconv.FormatInt(src.GetGeneration(), 10)
	ann[objects.AnnotationSourceResourceVersion] = src.GetResourceVersion()
	o.SetAnnotations(ann)
	return nil
}
