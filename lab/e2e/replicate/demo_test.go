package replicate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// TestDemoManifestsReplicate replicates the demo application (demo/manifests) from
// east to a pilot-light west, checks every object is in sync, then activates west as a
// failover would and waits for the web tier to run there.
func TestDemoManifestsReplicate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two control planes")
	}
	w := startWorld(t)
	east, west := w.conns["east"], w.conns["west"]
	objs, err := site.ReadManifests(filepath.Join("..", "..", "..", "demo", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, east, objs...)
	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict([]byte(`
metadata: {name: shop}
spec:
  namespace: shop
  selector: {matchLabels: {app.kubernetes.io/part-of: shop}}
  policy: {mode: active-passive, activeSite: east, standbySites: [west], standby: pilot-light}
  dns: {zone: gslb.example.com, name: shop.gslb.example.com}
  replication:
    secrets: [shop-db-credentials]
    rules:
    - sites: [west]
      kinds: [ConfigMap]
      name: shop-web-config
      mergePatch: {data: {HADRON_DEMO_SITE: west}}
`), &app); err != nil {
		t.Fatal(err)
	}
	run := startReplicator(t, &app, east, west)
	ctx := context.Background()
	eventually(t, time.Minute, "every demo object in sync on west", func() (bool, string) {
		if !run.r.Idle() {
			return false, "replicator busy"
		}
		snap, err := replicate.Take(ctx, &app, east, []*site.Conn{west}, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range replicate.ParityOf(snap.Changes) {
			if !p.OK() {
				return false, fmt.Sprintf("%s %s %s %v", p.Object, p.State, p.Reason, p.Diff)
			}
		}
		return len(snap.Changes) >= len(objs)-1, fmt.Sprint(len(snap.Changes), " objects")
	})
	if ps := run.r.Problems(); len(ps) > 0 {
		t.Errorf("problems: %+v", ps)
	}
	cm, err := west.Kube.CoreV1().ConfigMaps("shop").Get(ctx, "shop-web-config", metav1.GetOptions{})
	if err != nil || cm.Data["HADRON_DEMO_SITE"] != "west" {
		t.Errorf("west's config names %q (%v), want west", cm.Data["HADRON_DEMO_SITE"], err)
	}
	d, err := west.Kube.AppsV1().Deployments("shop").Get(ctx, "shop-web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 0 || d.Annotations[objects.AnnotationActiveReplicas] != "6" {
		t.Fatalf("pilot-light deployment: %v %v", d, err)
	}

	run.stop()
	if _, err := replicate.Activate(ctx, "shop", "shop", west); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "6 web pods running on west", func() (bool, string) {
		pods, err := west.Kube.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 6, fmt.Sprintf("%d of %d running", running, len(pods.Items))
	})
}
