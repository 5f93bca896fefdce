package demo_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const partOf = "app.kubernetes.io/part-of"

// manifests reads every YAML document in demo/manifests, strictly decoded into its typed
// Kubernetes object (an unknown or misspelled field fails), keyed by kind/name.
func manifests(t *testing.T) map[string]any {
	t.Helper()
	files, err := filepath.Glob("../../demo/manifests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found: %v", err)
	}
	objs := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s doc %d: %v", f, i, err)
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "v1/Namespace":
				obj = &corev1.Namespace{}
			case "v1/ConfigMap":
				obj = &corev1.ConfigMap{}
			case "v1/Secret":
				obj = &corev1.Secret{}
			case "v1/Service":
				obj = &corev1.Service{}
			case "apps/v1/Deployment":
				obj = &appsv1.Deployment{}
			case "networking.k8s.io/v1/Ingress":
				obj = &networkingv1.Ingress{}
			default:
				t.Fatalf("%s doc %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s doc %d (%s): %v", f, i, tm.Kind, err)
			}
			meta := obj.(metav1.Object)
			if meta.GetLabels()[partOf] != "shop" {
				t.Errorf("%s: %s %s lacks the label %s=shop", f, tm.Kind, meta.GetName(), partOf)
			}
			if tm.Kind != "Namespace" && meta.GetNamespace() != "shop" {
				t.Errorf("%s: %s %s is in namespace %q, want shop", f, tm.Kind, meta.GetName(), meta.GetNamespace())
			}
			key := tm.Kind + "/" + meta.GetName()
			if _, dup := objs[key]; dup {
				t.Errorf("%s: %s defined twice", f, key)
			}
			objs[key] = obj
		}
	}
	return objs
}

func TestManifests(t *testing.T) {
	objs := manifests(t)
	for _, want := range []string{"Namespace/shop", "ConfigMap/shop-web-config", "Secret/shop-db-credentials",
		"Service/shop-web", "Deployment/shop-web", "Ingress/shop-web"} {
		if objs[want] == nil {
			t.Errorf("%s missing", want)
		}
	}
	d, ok := objs["Deployment/shop-web"].(*appsv1.Deployment)
	if !ok {
		t.FailNow()
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 6 {
		t.Errorf("replicas %v, want 6", d.Spec.Replicas)
	}
	tpl := d.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(tpl.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v", d.Spec.Selector, tpl.Labels)
	}
	for _, k := range []string{"app.kubernetes.io/name", partOf} {
		if tpl.Labels[k] != "shop" {
			t.Errorf("pod label %s = %q, want shop", k, tpl.Labels[k])
		}
	}
	if len(tpl.Spec.TopologySpreadConstraints) != 1 {
		t.Fatalf("topology spread: %+v", tpl.Spec.TopologySpreadConstraints)
	}
	if c := tpl.Spec.TopologySpreadConstraints[0]; c.MaxSkew != 1 || c.TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("topology spread %+v, want maxSkew 1 over zones", c)
	}
	c := tpl.Spec.Containers[0]
	if c.Image != "ghcr.io/hadron-dev/hadron-demo:latest" || len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("container image %q args %v", c.Image, c.Args)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("readiness probe %+v, want GET /healthz", c.ReadinessProbe)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests %v", c.Resources.Requests)
	}

	svc := objs["Service/shop-web"].(*corev1.Service)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(tpl.Labels)) {
		t.Errorf("service selector %v does not match the pods", svc.Spec.Selector)
	}

	ing := objs["Ingress/shop-web"].(*networkingv1.Ingress)
	hosts := []string{"shop.gslb.example.com", "east.shop.gslb.example.com", "west.shop.gslb.example.com"}
	var ruleHosts []string
	for _, r := range ing.Spec.Rules {
		ruleHosts = append(ruleHosts, r.Host)
		if r.HTTP == nil || r.HTTP.Paths[0].Backend.Service.Name != svc.Name {
			t.Errorf("rule %s does not go to service %s", r.Host, svc.Name)
		}
	}
	if strings.Join(ruleHosts, ",") != strings.Join(hosts, ",") {
		t.Errorf("ingress hosts %v, want %v", ruleHosts, hosts)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName == "" || strings.Join(ing.Spec.TLS[0].Hosts, ",") != strings.Join(hosts, ",") {
		t.Errorf("ingress TLS %+v, want one secret for %v", ing.Spec.TLS, hosts)
	}

	cm := objs["ConfigMap/shop-web-config"].(*corev1.ConfigMap)
	t.Setenv("PGPASSWORD", "") // the DSN itself must carry no password
	cfg, err := pgxpool.ParseConfig(cm.Data["HADRON_DEMO_DSN"])
	if err != nil {
		t.Fatalf("HADRON_DEMO_DSN does not parse")
	}
	if cfg.ConnConfig.Password != "" || len(cfg.ConnConfig.Fallbacks) < 2 || cfg.ConnConfig.ValidateConnect == nil {
		t.Errorf("DSN: want several hosts, target_session_attrs=read-write and no password")
	}
	sec := objs["Secret/shop-db-credentials"].(*corev1.Secret)
	if sec.StringData["PGPASSWORD"] == "" || sec.Annotations["hadron.dev/lab-value"] != "true" {
		t.Errorf("secret: want a PGPASSWORD marked as a lab value")
	}
}
