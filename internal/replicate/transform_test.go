package replicate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: normalizeNumbers(m).(map[string]any)}
}

func field(o *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	return v
}

func target(style v1alpha1.StandbyStyle, rules ...Rule) Target {
	return Target{App: "shop", Source: "east", Site: "west", Style: style,
		MainName: "shop.example.com", SourceName: "east.shop.example.com", SiteName: "west.shop.example.com",
		Secrets: map[string]bool{"shop-tls": true}, Exported: map[string]bool{"shop-db": true}, Rules: rules}
}

func TestTransformCleanup(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		gone   [][]string
		kept   map[string]any // dotted path → value
		reason string         // non-empty: skipped with a reason containing it
	}{
		{
			name: "metadata and status",
			in: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop, uid: u1, resourceVersion: "9", generation: 2,
  creationTimestamp: "2026-01-01T00:00:00Z", managedFields: [{manager: x}], selfLink: /x, finalizers: [f],
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", keep: "yes"}}, data: {k: v}, status: {x: 1}}`,
			gone: [][]string{{"metadata", "uid"}, {"metadata", "resourceVersion"}, {"metadata", "generation"},
				{"metadata", "creationTimestamp"}, {"metadata", "managedFields"}, {"metadata", "selfLink"},
				{"metadata", "finalizers"}, {"status"}, {"metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"}},
			kept: map[string]any{"data.k": "v", "metadata.annotations.keep": "yes"},
		},
		{
			name: "service allocations",
			in: `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {type: LoadBalancer,
  clusterIP: 10.0.0.5, clusterIPs: [10.0.0.5], healthCheckNodePort: 31000, selector: {app: web},
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]}}`,
			gone: [][]string{{"spec", "clusterIP"}, {"spec", "clusterIPs"}, {"spec", "healthCheckNodePort"}},
			kept: map[string]any{"spec.type": "LoadBalancer", "spec.selector.app": "web"},
		},
		{
			name: "headless service keeps None",
			in:   `{apiVersion: v1, kind: Service, metadata: {name: db, namespace: shop}, spec: {clusterIP: None, ports: [{port: 5432}]}}`,
			kept: map[string]any{"spec.clusterIP": "None"},
		},
		{
			name: "pvc binding",
			in: `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: shop,
  annotations: {pv.kubernetes.io/bind-completed: "yes", volume.kubernetes.io/selected-node: n1}},
  spec: {volumeName: pv-1, resources: {requests: {storage: 1Gi}}}}`,
			gone: [][]string{{"spec", "volumeName"}, {"metadata", "annotations", "pv.kubernetes.io/bind-completed"},
				{"metadata", "annotations", "volume.kubernetes.io/selected-node"}},
			kept: map[string]any{"spec.resources.requests.storage": "1Gi"},
		},
		{
			name: "job controller uid",
			in: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, namespace: shop},
  spec: {selector: {matchLabels: {batch.kubernetes.io/controller-uid: u}},
  template: {metadata: {labels: {batch.kubernetes.io/controller-uid: u, controller-uid: u, job-name: migrate}}, spec: {containers: [{name: m, image: m}]}}}}`,
			gone: [][]string{{"spec", "selector"}, {"spec", "template", "metadata", "labels", "controller-uid"},
				{"spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"}},
			kept: map[string]any{"spec.template.metadata.labels.job-name": "migrate"},
		},
		{
			name: "owner references dropped", in: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop,
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: parent, uid: u}]}}`,
			gone: [][]string{{"metadata", "ownerReferences"}},
		},
		{
			name: "controller-owned skipped", in: `{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: web-1, namespace: shop,
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u, controller: true}]}}`,
			reason: "controller",
		},
		{name: "unlisted secret", in: `{apiVersion: v1, kind: Secret, metadata: {name: db-password, namespace: shop}, data: {p: eA==}}`, reason: "not listed"},
		{name: "token secret", in: `{apiVersion: v1, kind: Secret, type: kubernetes.io/service-account-token, metadata: {name: shop-tls, namespace: shop}}`, reason: "token"},
		{name: "exported service", in: `{apiVersion: v1, kind: Service, metadata: {name: shop-db, namespace: shop}}`, reason: "exported"},
		{name: "export label", in: `{apiVersion: v1, kind: Service, metadata: {name: x, namespace: shop, labels: {hadron.dev/export: "true"}}}`, reason: "exported"},
		{name: "imported service", in: `{apiVersion: v1, kind: Service, metadata: {name: y, namespace: shop, annotations: {hadron.dev/imported-from: west}}}`, reason: "imported"},
		{name: "root ca", in: `{apiVersion: v1, kind: ConfigMap, metadata: {name: kube-root-ca.crt, namespace: shop}}`, reason: "root CA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := obj(t, tc.in)
			before := src.DeepCopy()
			d := Transform(src, target(v1alpha1.StandbyWarm))
			if !reflect.DeepEqual(src, before) {
				t.Fatal("Transform modified its input")
			}
			if tc.reason != "" {
				if d.Outcome != Skip || !strings.Contains(d.Reason, tc.reason) {
					t.Fatalf("outcome %v %q, want skip with %q", d.Outcome, d.Reason, tc.reason)
				}
				return
			}
			if d.Err != nil || d.Outcome != Apply {
				t.Fatalf("outcome %v err %v", d.Outcome, d.Err)
			}
			for _, p := range tc.gone {
				if v := field(d.Object, p...); v != nil {
					t.Errorf("%s still %v", strings.Join(p, "."), v)
				}
			}
			for p, want := range tc.kept {
				if got := field(d.Object, strings.Split(p, ".")...); !scalarEqual(got, want) {
					t.Errorf("%s = %v, want %v", p, got, want)
				}
			}
			if ports, _, _ := unstructured.NestedSlice(d.Object.Object, "spec", "ports"); len(ports) > 0 {
				if _, ok := ports[0].(map[string]any)["nodePort"]; ok {
					t.Error("nodePort kept")
				}
			}
		})
	}
}

func TestTransformSiteNames(t *testing.T) {
	ing := obj(t, `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: shop,
  annotations: {external-dns.alpha.kubernetes.io/hostname: "shop.example.com,east.shop.example.com,other.example.com"}},
  spec: {tls: [{hosts: [shop.example.com, east.shop.example.com], secretName: shop-tls}],
  rules: [{host: shop.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}},
          {host: east.shop.example.com}]}}`)
	d := Transform(ing, target(v1alpha1.StandbyWarm))
	if d.Err != nil {
		t.Fatal(d.Err)
	}
	var hosts []string
	rules, _, _ := unstructured.NestedSlice(d.Object.Object, "spec", "rules")
	for _, r := range rules {
		hosts = append(hosts, hostOf(r.(map[string]any)))
	}
	if want := []string{"shop.example.com", "west.shop.example.com"}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("rule hosts %v, want %v", hosts, want)
	}
	// An Ingress that lists every site's name (the demo's) keeps each host once.
	all := obj(t, `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: shop},
  spec: {tls: [{hosts: [shop.example.com, east.shop.example.com, west.shop.example.com]}],
  rules: [{host: shop.example.com}, {host: east.shop.example.com}, {host: west.shop.example.com}]}}`)
	allOut := Transform(all, target(v1alpha1.StandbyWarm)).Object
	rulesAll, _, _ := unstructured.NestedSlice(allOut.Object, "spec", "rules")
	var allHosts []string
	for _, r := range rulesAll {
		allHosts = append(allHosts, hostOf(r.(map[string]any)))
	}
	tlsAll, _, _ := unstructured.NestedSlice(allOut.Object, "spec", "tls")
	if strings.Join(allHosts, ",") != "shop.example.com,west.shop.example.com" ||
		!reflect.DeepEqual(tlsAll[0].(map[string]any)["hosts"], []any{"shop.example.com", "west.shop.example.com"}) {
		t.Errorf("all-sites ingress: rules %v tls %v", allHosts, tlsAll)
	}

	// Without a rule for the source site's name, the main rule is copied for the site.
	only := obj(t, `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: shop},
  spec: {rules: [{host: shop.example.com, http: {paths: [{path: /}]}}]}}`)
	rules2, _, _ := unstructured.NestedSlice(Transform(only, target(v1alpha1.StandbyWarm)).Object.Object, "spec", "rules")
	if len(rules2) != 2 || hostOf(rules2[1].(map[string]any)) != "west.shop.example.com" || rules2[1].(map[string]any)["http"] == nil {
		t.Errorf("copied rules %v", rules2)
	}
	tls, _, _ := unstructured.NestedSlice(d.Object.Object, "spec", "tls")
	if got := tls[0].(map[string]any)["hosts"]; !reflect.DeepEqual(got, []any{"shop.example.com", "west.shop.example.com"}) {
		t.Errorf("tls hosts %v", got)
	}
	if got := d.Object.GetAnnotations()[ExternalDNSHostname]; got != "west.shop.example.com,other.example.com" {
		t.Errorf("external-dns hostname %q", got)
	}
	if d.Object.GetLabels()[objects.LabelSite] != "west" {
		t.Errorf("site label %v", d.Object.GetLabels())
	}

	// An annotation naming only the main name becomes the site's name.
	svc := obj(t, `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop, annotations: {external-dns.alpha.kubernetes.io/hostname: shop.example.com.}}}`)
	if got := Transform(svc, target(v1alpha1.StandbyWarm)).Object.GetAnnotations()[ExternalDNSHostname]; got != "west.shop.example.com" {
		t.Errorf("service external-dns %q", got)
	}
	// Without DNS names the annotation is dropped rather than copied.
	tg := target(v1alpha1.StandbyWarm)
	tg.MainName, tg.SourceName, tg.SiteName = "shop.example.com", "", ""
	if _, ok := Transform(svc, tg).Object.GetAnnotations()[ExternalDNSHostname]; ok {
		t.Error("external-dns annotation kept for a site without a name")
	}
}

func TestTransformStyles(t *testing.T) {
	deploy := `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 3, template: {spec: {containers: [{name: w, image: w}]}}}}`
	defaulted := `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: shop}, spec: {}}`
	hpa := `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop}, spec: {minReplicas: 2, maxReplicas: 5}}`
	cm := `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}`
	tests := []struct {
		style    v1alpha1.StandbyStyle
		in       string
		outcome  Outcome
		replicas any
		active   string
	}{
		{v1alpha1.StandbyWarm, deploy, Apply, int64(3), "3"},
		{v1alpha1.StandbyPilotLight, deploy, Apply, int64(0), "3"},
		{v1alpha1.StandbyPilotLight, defaulted, Apply, int64(0), "1"},
		{v1alpha1.StandbyCold, deploy, Defer, int64(3), "3"},
		{v1alpha1.StandbyWarm, hpa, Apply, nil, ""},
		{v1alpha1.StandbyPilotLight, hpa, Defer, nil, ""},
		{v1alpha1.StandbyCold, hpa, Defer, nil, ""},
		{v1alpha1.StandbyCold, cm, Apply, nil, ""},
		{v1alpha1.StandbyPilotLight, cm, Apply, nil, ""},
	}
	for _, tc := range tests {
		d := Transform(obj(t, tc.in), target(tc.style))
		name := string(tc.style) + " " + d.Ref.String()
		if d.Err != nil || d.Outcome != tc.outcome {
			t.Errorf("%s: outcome %v (%s) err %v, want %v", name, d.Outcome, d.Reason, d.Err, tc.outcome)
			continue
		}
		if tc.outcome == Defer && d.Reason == "" {
			t.Errorf("%s: deferred without a reason", name)
		}
		if got := field(d.Object, "spec", "replicas"); !reflect.DeepEqual(got, tc.replicas) {
			t.Errorf("%s: replicas %v, want %v", name, got, tc.replicas)
		}
		if got := d.Object.GetAnnotations()[objects.AnnotationActiveReplicas]; got != tc.active {
			t.Errorf("%s: active replicas %q, want %q", name, got, tc.active)
		}
	}
}

func TestTransformOwnershipAndHash(t *testing.T) {
	src := obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop, resourceVersion: "41", generation: 0}, data: {k: v}}`)
	a := Transform(src, target(v1alpha1.StandbyWarm)).Object
	ann := a.GetAnnotations()
	if ann[objects.AnnotationApplication] != "shop" || ann[objects.AnnotationSourceSite] != "east" || ann[objects.AnnotationSourceResourceVersion] != "41" || !strings.HasPrefix(ann[objects.AnnotationContentHash], "sha256:") {
		t.Fatalf("ownership annotations %v", ann)
	}
	// A new resourceVersion without a content change keeps the hash; a content change
	// changes it.
	src.SetResourceVersion("42")
	if h := Transform(src, target(v1alpha1.StandbyWarm)).Object.GetAnnotations()[objects.AnnotationContentHash]; h != ann[objects.AnnotationContentHash] {
		t.Errorf("hash changed with resourceVersion alone: %s vs %s", h, ann[objects.AnnotationContentHash])
	}
	_ = unstructured.SetNestedField(src.Object, "w", "data", "k")
	if h := Transform(src, target(v1alpha1.StandbyWarm)).Object.GetAnnotations()[objects.AnnotationContentHash]; h == ann[objects.AnnotationContentHash] {
		t.Error("hash unchanged after a content change")
	}
	// A source that was itself replicated (after a failover) is stamped anew.
	again := Transform(a, Target{App: "shop", Source: "west", Site: "east", Style: v1alpha1.StandbyWarm}).Object
	if again.GetAnnotations()[objects.AnnotationSourceSite] != "west" || again.GetLabels()[objects.LabelSite] != "east" {
		t.Errorf("re-replicated object %v %v", again.GetAnnotations(), again.GetLabels())
	}
}

func TestRules(t *testing.T) {
	spec := func(y string) *v1alpha1.ObjectReplication {
		var r v1alpha1.ObjectReplication
		if err := yaml.UnmarshalStrict([]byte(y), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	rules, err := CompileRules(spec(`
rules:
- kinds: [Deployment.apps]
  name: web-.*
  labels: {tier: front}
  jsonPatch:
  - {op: replace, path: /spec/template/spec/containers/0/image, value: "west-registry.example.com/web:1"}
- sites: [west]
  kinds: [ConfigMap]
  mergePatch: {data: {REGION: us-west-2, DROP: null}}
- sites: [south]
  mergePatch: {data: {X: "y"}}
- name: broken
  jsonPatch: [{op: replace, path: /spec/nothing/here, value: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	tg := TargetFor(&v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Policy: v1alpha1.Policy{Standby: v1alpha1.StandbyWarm}}}, "east", "west", rules)
	if len(tg.Rules) != 3 {
		t.Fatalf("rules for west: %d, want 3", len(tg.Rules))
	}
	web := Transform(obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web-1, namespace: shop, labels: {tier: front}},
  spec: {replicas: 2, template: {spec: {containers: [{name: w, image: "east-registry.example.com/web:1"}]}}}}`), tg)
	if web.Err != nil {
		t.Fatal(web.Err)
	}
	if img := field(web.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]; img != "west-registry.example.com/web:1" {
		t.Errorf("image %v", img)
	}
	if r := field(web.Object, "spec", "replicas"); r != int64(2) {
		t.Errorf("replicas %#v after a patch, want int64 2", r)
	}
	other := Transform(obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web-2, namespace: shop}, spec: {template: {spec: {containers: [{name: w, image: a}]}}}}`), tg)
	if img := field(other.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]; img != "a" {
		t.Errorf("unlabelled deployment patched: %v", img)
	}
	cm := Transform(obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: env, namespace: shop}, data: {REGION: us-east-1, DROP: x, KEEP: k}}`), tg)
	if got := field(cm.Object, "data"); !reflect.DeepEqual(got, map[string]any{"REGION": "us-west-2", "KEEP": "k"}) {
		t.Errorf("merge patched data %v", got)
	}
	bad := Transform(obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: broken, namespace: shop}}`), tg)
	if !errors.Is(bad.Err, ErrPatch) || !strings.Contains(bad.Err.Error(), "ConfigMap/shop/broken") || bad.Object != nil {
		t.Errorf("bad patch: err %v object %v", bad.Err, bad.Object)
	}

	for _, y := range []string{
		"rules: [{name: '(', mergePatch: {a: 1}}]",
		"rules: [{kinds: [.apps], mergePatch: {a: 1}}]",
		"rules: [{name: x}]",
		"rules: [{jsonPatch: [{op: explode, path: /a}]}]",
		"rules: [{mergePatch: [1, 2]}]",
	} {
		if _, err := CompileRules(spec(y)); !errors.Is(err, ErrBadRule) {
			t.Errorf("%s: err %v, want ErrBadRule", y, err)
		}
	}
}

func TestTargetFor(t *testing.T) {
	app := &v1alpha1.Application{}
	app.Name = "shop"
	app.Spec.DNS = &v1alpha1.DNS{Name: "shop.example.com", SiteNames: map[string]string{"west": "w.example.com"}}
	app.Spec.Replication = &v1alpha1.ObjectReplication{Secrets: []string{"tls"}, Exports: []v1alpha1.ServiceExport{{Service: "db"}}}
	tg := TargetFor(app, "east", "west", nil)
	b, _ := json.Marshal(tg)
	if tg.Style != v1alpha1.StandbyPilotLight || tg.SourceName != "east.shop.example.com" || tg.SiteName != "w.example.com" ||
		!tg.Secrets["tls"] || !tg.Exported["db"] {
		t.Errorf("target %s", b)
	}
}
