package compute

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// obj decodes an object as the dynamic client does (integers as int64).
func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return o
}

// deployment is a Deployment of namespace shop with the given labels, annotations,
// spec and status (YAML flow maps, "" for none).
func deployment(t *testing.T, labels, annotations, spec, status string) *unstructured.Unstructured {
	t.Helper()
	y := `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, generation: 2`
	if labels != "" {
		y += `, labels: ` + labels
	}
	if annotations != "" {
		y += `, annotations: ` + annotations
	}
	y += `}`
	if spec != "" {
		y += `, spec: ` + spec
	}
	if status != "" {
		y += `, status: ` + status
	}
	return obj(t, y+`}`)
}

const (
	ownedShop = `{hadron.dev/application: shop, hadron.dev/source-site: east}`
	ownedBlog = `{hadron.dev/application: blog, hadron.dev/source-site: east}`
)

func TestBelongs(t *testing.T) {
	shopSel, err := selectorOf(&v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "shop"}}}})
	if err != nil {
		t.Fatal(err)
	}
	none, err := selectorOf(&v1alpha1.Application{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		sel         labels.Selector
		labels, ann string
		want        bool
	}{
		{"replicated for shop, labels rewritten", shopSel, `{x: y}`, ownedShop, true},
		{"original selected by label", shopSel, `{app.kubernetes.io/part-of: shop}`, "", true},
		{"original not selected", shopSel, `{app.kubernetes.io/part-of: blog}`, "", false},
		{"replicated for another application", shopSel, `{app.kubernetes.io/part-of: shop}`, ownedBlog, false},
		{"imported by discovery", shopSel, `{app.kubernetes.io/part-of: shop}`, `{hadron.dev/imported-from: east}`, false},
		{"marked for shop without a source site", shopSel, `{app.kubernetes.io/part-of: shop}`, `{hadron.dev/application: shop}`, true},
		{"no selector takes the whole namespace", none, "", "", true},
		{"no selector still leaves another application's copy", none, "", ownedBlog, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := belongs("shop", c.sel, deployment(t, c.labels, c.ann, "", "")); got != c.want {
				t.Errorf("belongs = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSelectorOfRejectsABadSelector(t *testing.T) {
	app := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: v1alpha1.ApplicationSpec{
		Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}}
	if _, err := selectorOf(app); err == nil {
		t.Fatal("a selector with an unknown operator was accepted")
	}
}

func TestReadinessOf(t *testing.T) {
	cases := []struct {
		name, spec, status string
		want               readiness
		ok                 bool
	}{
		{"all ready", `{replicas: 3}`, `{observedGeneration: 2, readyReplicas: 3}`, readiness{Ready: 3, Want: 3}, true},
		{"more ready than asked while scaling down", `{replicas: 1}`, `{observedGeneration: 2, readyReplicas: 2}`, readiness{Ready: 2, Want: 1}, true},
		{"some ready", `{replicas: 3}`, `{observedGeneration: 2, readyReplicas: 1}`, readiness{Ready: 1, Want: 3}, false},
		{"none ready: the API server omits zero", `{replicas: 2}`, `{observedGeneration: 2}`, readiness{Want: 2}, false},
		{"replicas unset default to 1", `{}`, `{observedGeneration: 2, readyReplicas: 1}`, readiness{Ready: 1, Want: 1}, true},
		{"spec not yet observed", `{replicas: 2}`, `{observedGeneration: 1, readyReplicas: 2}`, readiness{Ready: 2, Want: 2, Stale: true}, false},
		{"just created", `{replicas: 2}`, ``, readiness{Want: 2, Stale: true}, false},
		{"scaled to zero", `{replicas: 0}`, `{observedGeneration: 2}`, readiness{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readinessOf("deployments/shop/web", deployment(t, "", "", c.spec, c.status))
			c.want.Object = "deployments/shop/web"
			if got != c.want || got.OK() != c.ok {
				t.Errorf("readiness = %+v ok %v, want %+v ok %v", got, got.OK(), c.want, c.ok)
			}
		})
	}
}

func TestRestoreTo(t *testing.T) {
	cases := []struct {
		name, ann, spec string
		want            int64
		ok              bool
	}{
		{"own workload stood by", `{hadron.dev/active-replicas: "3"}`, `{replicas: 0}`, 3, true},
		{"already restored", `{hadron.dev/active-replicas: "3"}`, `{replicas: 3}`, 0, false},
		{"nothing recorded", ``, `{replicas: 0}`, 0, false},
		{"recorded count unreadable", `{hadron.dev/active-replicas: three}`, `{replicas: 0}`, 0, false},
		{"replicated copy is replicate.Activate's", `{hadron.dev/application: shop, hadron.dev/source-site: east, hadron.dev/active-replicas: "3"}`, `{replicas: 0}`, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, ok := restoreTo("shop", deployment(t, "", c.ann, c.spec, ""))
			if n != c.want || ok != c.ok {
				t.Errorf("restoreTo = %d %v, want %d %v", n, ok, c.want, c.ok)
			}
		})
	}
}

func TestDecideStandBy(t *testing.T) {
	pl, cold, warm := v1alpha1.StandbyPilotLight, v1alpha1.StandbyCold, v1alpha1.StandbyWarm
	cases := []struct {
		name, ann, spec string
		style           v1alpha1.StandbyStyle
		want            standBy
	}{
		{"pilot-light records and scales down", ``, `{replicas: 3}`, pl, standBy{Record: "3", From: 3, ScaleDown: true}},
		{"cold scales down too, no delete", ``, `{replicas: 3}`, cold, standBy{Record: "3", From: 3, ScaleDown: true}},
		{"warm only records", ``, `{replicas: 3}`, warm, standBy{Record: "3", From: 3}},
		{"unset replicas are 1", ``, `{}`, pl, standBy{Record: "1", From: 1, ScaleDown: true}},
		{"second run keeps the first count", `{hadron.dev/active-replicas: "3"}`, `{replicas: 0}`, pl, standBy{}},
		{"a stale count is replaced while running", `{hadron.dev/active-replicas: "2"}`, `{replicas: 5}`, pl, standBy{Record: "5", From: 5, ScaleDown: true}},
		{"recorded and running: only scale", `{hadron.dev/active-replicas: "3"}`, `{replicas: 3}`, pl, standBy{From: 3, ScaleDown: true}},
		{"warm, already recorded", `{hadron.dev/active-replicas: "3"}`, `{replicas: 3}`, warm, standBy{From: 3}},
		{"stopped on purpose: zero is recorded once", ``, `{replicas: 0}`, pl, standBy{Record: "0"}},
		{"unreadable count is replaced", `{hadron.dev/active-replicas: x}`, `{replicas: 0}`, pl, standBy{Record: "0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decideStandBy("deployments/shop/web", deployment(t, "", c.ann, c.spec, ""), c.style)
			c.want.Object = "deployments/shop/web"
			if got != c.want {
				t.Errorf("decideStandBy = %+v, want %+v", got, c.want)
			}
			if got.Empty() != (c.want.Record == "" && !c.want.ScaleDown) {
				t.Errorf("Empty = %v", got.Empty())
			}
		})
	}
}

func TestStandByPatch(t *testing.T) {
	cases := []struct {
		name string
		s    standBy
		want string
	}{
		{"record and scale", standBy{Record: "3", ScaleDown: true},
			`{"metadata":{"annotations":{"hadron.dev/active-replicas":"3"},"resourceVersion":"41"},"spec":{"replicas":0}}`},
		{"scale only", standBy{ScaleDown: true}, `{"metadata":{"resourceVersion":"41"},"spec":{"replicas":0}}`},
		{"record only", standBy{Record: "2"}, `{"metadata":{"annotations":{"hadron.dev/active-replicas":"2"},"resourceVersion":"41"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.s.patch("41")
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(b, &got)
			_ = json.Unmarshal([]byte(c.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("patch = %s, want %s", b, c.want)
			}
		})
	}
	if objects.AnnotationActiveReplicas != "hadron.dev/active-replicas" {
		t.Fatalf("the annotation's name changed to %s; update the patches above", objects.AnnotationActiveReplicas)
	}
}

func TestStyleOf(t *testing.T) {
	for _, c := range []struct{ in, want v1alpha1.StandbyStyle }{
		{"", v1alpha1.StandbyPilotLight}, {v1alpha1.StandbyCold, v1alpha1.StandbyCold}, {v1alpha1.StandbyWarm, v1alpha1.StandbyWarm},
	} {
		app := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Policy: v1alpha1.Policy{Standby: c.in}}}
		if got := styleOf(app); got != c.want {
			t.Errorf("styleOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
