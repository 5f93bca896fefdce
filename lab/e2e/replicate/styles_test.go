package replicate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// testCutOff: a stand-by cut off from the replicator catches up when the link heals.
func testCutOff(t *testing.T, east, west *site.Conn) {
	ctx := context.Background()
	// Reach west's API server through a link that can be cut; TLS still checks
	// west's own address.
	l := newLink(t, "127.0.212.30:6443", "127.0.212.1:6443")
	cfg := rest.CopyConfig(west.Config)
	cfg.Host = "https://127.0.212.30:6443"
	cfg.TLSClientConfig.ServerName = "127.0.212.1"
	cfg.Timeout = 5 * time.Second
	viaLink, err := site.ConnectConfig("west", cfg)
	if err != nil {
		t.Fatal(err)
	}
	cut := shopApp(t)
	cut.Name, cut.Spec.Namespace, cut.Spec.Replication = "cut", "cut", nil
	cut.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "cut"}}
	applyAll(t, east, parse(t, `{apiVersion: v1, kind: Namespace, metadata: {name: cut}}`),
		parse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: cut, labels: {app.kubernetes.io/part-of: cut}}, data: {v: "1"}}`))
	r := startReplicator(t, cut, east, viaLink)
	value := func() string {
		cm, err := west.Kube.CoreV1().ConfigMaps("cut").Get(ctx, "c", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		return cm.Data["v"]
	}
	eventually(t, 30*time.Second, "first copy", func() (bool, string) { v := value(); return v == "1", v })

	l.cut()
	for _, v := range []string{"2", "3"} {
		if _, err := east.Kube.CoreV1().ConfigMaps("cut").Patch(ctx, "c", types.MergePatchType, []byte(`{"data":{"v":"`+v+`"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "the replicator notices the cut", func() (bool, string) {
		for _, p := range r.r.Problems() {
			if p.Err != nil && p.Ref.Name == "c" {
				return true, ""
			}
		}
		return false, fmt.Sprint(r.r.Problems())
	})
	if v := value(); v != "1" {
		t.Fatalf("west changed while cut off: %q", v)
	}
	l.heal()
	eventually(t, 45*time.Second, "caught up after the link healed", func() (bool, string) { v := value(); return v == "3", v })
	r.stop()

	// A replicator that starts while the stand-by is cut off runs for the active site
	// and catches the stand-by up when the link heals.
	l.cut()
	if _, err := east.Kube.CoreV1().ConfigMaps("cut").Patch(ctx, "c", types.MergePatchType, []byte(`{"data":{"v":"4"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r = startReplicator(t, cut, east, viaLink)
	if r.r.Idle() {
		t.Error("idle while a stand-by is unreachable")
	}
	l.heal()
	eventually(t, 45*time.Second, "caught up after starting cut off", func() (bool, string) { v := value(); return v == "4" && r.r.Idle(), v })
	r.stop()
}

// testColdStandby: a cold stand-by keeps workloads off until activated.
func testColdStandby(t *testing.T, east, west *site.Conn) {
	ctx := context.Background()
	cold := shopApp(t)
	cold.Name, cold.Spec.Namespace, cold.Spec.Replication = "cold", "cold", nil
	cold.Spec.Policy.Standby = v1alpha1.StandbyCold
	cold.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "cold"}}
	applyAll(t, east, parse(t, `{apiVersion: v1, kind: Namespace, metadata: {name: cold}}`),
		parse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: conf, namespace: cold, labels: {app.kubernetes.io/part-of: cold}}, data: {a: "1"}}`),
		parse(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: api, namespace: cold, labels: {app.kubernetes.io/part-of: cold}},
  spec: {replicas: 2, selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: api:1}]}}}}`))
	r := startReplicator(t, cold, east, west)
	eventually(t, 30*time.Second, "configuration on west, workload in the deferred store", func() (bool, string) {
		if _, err := west.Kube.CoreV1().ConfigMaps("cold").Get(ctx, "conf", metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		store, err := west.Kube.CoreV1().ConfigMaps("cold").Get(ctx, replicate.DeferredStoreName("cold"), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		_, ok := store.Data["Deployment.apps_api.json"]
		return ok, fmt.Sprint(len(store.Data), " deferred")
	})
	if _, err := west.Kube.AppsV1().Deployments("cold").Get(ctx, "api", metav1.GetOptions{}); err == nil {
		t.Error("cold stand-by runs the workload")
	}
	r.stop()
	if _, err := replicate.Activate(ctx, "cold", "cold", west); err != nil {
		t.Fatal(err)
	}
	d, err := west.Kube.AppsV1().Deployments("cold").Get(ctx, "api", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Errorf("activated cold workload: %v %v", d, err)
	}
}
