package replicate

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// onSite is what the stand-by's API server returns after hadron applied d: the
// desired object plus server-set fields and defaults.
func onSite(d Desired) *unstructured.Unstructured {
	o := d.Object.DeepCopy()
	o.SetUID("standby-uid")
	o.SetResourceVersion("7")
	_ = unstructured.SetNestedField(o.Object, "ClusterFirst", "spec", "dnsPolicy")
	return o
}

func TestPlan(t *testing.T) {
	tg := target(v1alpha1.StandbyPilotLight)
	cm := func(name, v string) *unstructured.Unstructured {
		return obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: `+name+`, namespace: shop}, data: {k: `+v+`}}`)
	}
	deploy := obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 3}}`)
	hpa := obj(t, `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop}, spec: {maxReplicas: 3}}`)

	inSync := Transform(cm("same", "v"), tg)
	stale := Transform(cm("stale", "old"), tg)
	drifted := Transform(deploy, tg)
	driftedOnSite := onSite(drifted)
	_ = unstructured.SetNestedField(driftedOnSite.Object, int64(5), "spec", "replicas")
	statusOnly := cm("status", "v")
	statusOnly.SetResourceVersion("100")
	statusOld := Transform(statusOnly, tg)
	statusOnly.SetResourceVersion("101") // the source changed only its status
	orphan := onSite(Transform(cm("orphan", "v"), tg))
	byHand := cm("byhand", "mine")
	otherApp := onSite(Transform(cm("other", "v"), Target{App: "blog", Source: "east", Site: "west"}))
	hpaOnSite := onSite(Transform(hpa, target(v1alpha1.StandbyWarm)))

	desired := []Desired{
		inSync,
		Transform(cm("stale", "new"), tg),
		drifted,
		Transform(statusOnly, tg),
		Transform(cm("new", "v"), tg),
		Transform(cm("byhand", "theirs"), tg),
		Transform(cm("other", "v"), tg),
		Transform(hpa, tg),
		{Ref: objects.Ref{Kind: "ConfigMap", Namespace: "shop", Name: "broken"}, Err: ErrPatch},
		Transform(obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: unlisted, namespace: shop}}`), tg),
	}
	current := []*unstructured.Unstructured{
		onSite(inSync), onSite(stale), driftedOnSite, onSite(statusOld), orphan, byHand, otherApp, hpaOnSite,
		cm("unrelated", "v"),
	}
	want := map[string]objects.Action{
		"same": objects.ActionInSync, "stale": objects.ActionUpdate, "web/Deployment": objects.ActionUpdate, "status": objects.ActionInSync,
		"new": objects.ActionCreate, "byhand": objects.ActionConflict, "other": objects.ActionConflict, "web/HorizontalPodAutoscaler": objects.ActionDelete,
		"orphan": objects.ActionDelete, "broken": objects.ActionError,
	}
	got := map[string]objects.Change{}
	for _, c := range Plan("shop", "west", desired, current) {
		key := c.Ref.Name
		if c.Ref.Name == "web" {
			key += "/" + c.Ref.Kind
		}
		if _, dup := got[key]; dup {
			t.Errorf("%s planned twice", key)
		}
		got[key] = c
		if c.Site != "west" {
			t.Errorf("%s: site %q", key, c.Site)
		}
	}
	for key, action := range want {
		if got[key].Action != action {
			t.Errorf("%s: %s (%s %v), want %s", key, got[key].Action, got[key].Reason, got[key].Diff, action)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("unexpected change for %s: %s", key, got[key].Action)
		}
	}
	if d := got["web/Deployment"]; !strings.Contains(strings.Join(d.Diff, ";"), "spec.replicas: 5, want 0") || !strings.Contains(d.Reason, "drifted") {
		t.Errorf("drift of the deployment: %q %v", d.Reason, d.Diff)
	}
	if c := got["other"]; !strings.Contains(c.Reason, "blog") {
		t.Errorf("conflict reason %q does not name the owner", c.Reason)
	}
	if c := got["new"]; c.Desired == nil || !c.Mutates() {
		t.Error("create without the object to write")
	}
	if s := objects.Summary(Plan("shop", "west", desired, current)); s[objects.ActionConflict] != 2 || s[objects.ActionDelete] != 2 {
		t.Errorf("summary %v", s)
	}
}

func TestPlanCold(t *testing.T) {
	d := Transform(obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 2}}`), target(v1alpha1.StandbyCold))
	cs := Plan("shop", "west", []Desired{d}, nil)
	if len(cs) != 1 || cs[0].Action != objects.ActionDeferred || cs[0].Desired == nil || cs[0].Mutates() {
		t.Fatalf("cold plan %+v", cs)
	}
}

func TestDriftRedactsSecrets(t *testing.T) {
	want := obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {key: c2VjcmV0}}`)
	have := obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {key: b3RoZXI=}}`)
	diff := strings.Join(Drift(want, have), ";")
	if diff == "" || strings.Contains(diff, "c2VjcmV0") || strings.Contains(diff, "b3RoZXI=") {
		t.Errorf("secret drift %q", diff)
	}
}

func TestDriftBounded(t *testing.T) {
	want, have := obj(t, `{data: {}}`), obj(t, `{data: {}}`)
	for i := 0; i < 20; i++ {
		_ = unstructured.SetNestedField(want.Object, "a", "data", string(rune('a'+i)))
		_ = unstructured.SetNestedField(have.Object, "b", "data", string(rune('a'+i)))
	}
	if d := Drift(want, have); len(d) != maxDiffs+1 || d[maxDiffs] != "…" {
		t.Errorf("drift of 20 fields: %d lines %v", len(d), d)
	}
}
