package replicate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

func TestDeferredStoreRoundTrip(t *testing.T) {
	s := newDeferredStore("shop", "shop", "east", nil)
	cold := target(v1alpha1.StandbyCold)
	web := Transform(obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 4}}`), cold)
	hpa := Transform(obj(t, `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop}, spec: {maxReplicas: 8}}`), cold)
	cm := Transform(obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}`), cold)
	for _, d := range []Desired{hpa, web, cm} {
		s.note("west", d.Ref, &d)
	}
	if !s.dirty["west"] || len(s.objects["west"]) != 2 {
		t.Fatalf("store %v", s.objects["west"])
	}
	objs, err := DeferredObjects(&corev1.ConfigMap{Data: s.objects["west"]})
	if err != nil || len(objs) != 2 {
		t.Fatalf("objects %v %v", objs, err)
	}
	// Apply order: the workload before its autoscaler (both rank alike; keys sort
	// Deployment.apps_ before HorizontalPodAutoscaler.autoscaling_).
	if objs[0].GetKind() != "Deployment" || objs[1].GetKind() != "HorizontalPodAutoscaler" {
		t.Errorf("order %s, %s", objs[0].GetKind(), objs[1].GetKind())
	}
	if n, ok := objects.ActiveReplicas(objs[0]); !ok || n != 4 {
		t.Errorf("recorded replicas %d %v", n, ok)
	}
	s.dirty["west"] = false
	s.note("west", web.Ref, nil) // the source deleted web
	if !s.dirty["west"] || len(s.objects["west"]) != 1 {
		t.Errorf("after delete: %v", s.objects["west"])
	}
	if k := deferredKey(objects.Ref{Kind: "ConfigMap", Name: "a.b-c"}); k != "ConfigMap_a.b-c.json" {
		t.Errorf("key %q", k)
	}
}
