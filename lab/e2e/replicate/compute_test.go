package replicate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/lab/internal/controlplane"
	"hadron.dev/hadron/lab/internal/nodes"
)

// capacityName is west's node autoscaler: seed 003's pattern, where a cold site has
// only tainted control nodes and gets workers only while this Deployment runs.
const capacityName = "kube-system/capacity"

var gvrStatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}

// TestCompute runs compute.Sites against two real sites, west with seed 003's
// autoscaler; the scenarios share the sites and use their own namespaces.
func TestCompute(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two control planes")
	}
	w := startComputeWorld(t)
	t.Run("activate and stand-by", func(t *testing.T) { testActivateAndStandBy(t, w) })
	t.Run("errors", func(t *testing.T) { testComputeErrors(t, w) })
}

// testActivateAndStandBy fails the application "calc" over from east to a
// pilot-light west whose workers exist only once its autoscaler runs: Activate must
// raise the autoscaler first, then the workloads, and wait until they are ready.
// Then east stands by.
func testActivateAndStandBy(t *testing.T, w *world) {
	east, west := w.conns["east"], w.conns["west"]
	ctx := context.Background()
	// No apiVersion: compute defaults it as the fleet does.
	app := computeApp(t, "calc", `[{kind: Deployment, namespace: kube-system, name: capacity, replicas: 1}]`)
	w.fleet.Applications = append(w.fleet.Applications, app)
	applyAll(t, east, calcObjects(t)...)
	applyAll(t, west, parse(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: capacity, namespace: kube-system},
  spec: {replicas: 0, selector: {matchLabels: {app: capacity}}, template: {metadata: {labels: {app: capacity}},
  spec: {tolerations: [{key: `+nodes.TaintControl+`, operator: Exists}], containers: [{name: c, image: capacity:1}]}}}}`))

	run := startReplicator(t, app, east, west)
	eventually(t, time.Minute, "calc pilot-light on west", func() (bool, string) {
		web, db := getIn(t, west, gvrDeployments, "calc", "web"), getIn(t, west, gvrStatefulSets, "calc", "db")
		store := getIn(t, west, gvrConfigMaps, "calc", replicate.DeferredStoreName("calc"))
		if web == nil || db == nil || store == nil || !run.r.Idle() {
			return false, fmt.Sprintf("web %v, db %v, deferred store %v, idle %v", web != nil, db != nil, store != nil, run.r.Idle())
		}
		return replicasOf(web) == 0 && replicasOf(db) == 0, fmt.Sprintf("web %d, db %d replicas", replicasOf(web), replicasOf(db))
	})
	// Replication towards the site taking over stops before it is activated, as in the
	// runbook; otherwise the replicator would scale it back to pilot-light.
	run.stop()
	if n := workers(t, west); n != 0 {
		t.Fatalf("west has %d workers before its autoscaler runs", n)
	}

	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	sites := &compute.Sites{Fleet: w.fleet, ReadyTimeout: 3 * time.Minute, Log: log}
	// A planned switchover raises capacity alone first, before it stops writes: the
	// autoscaler is up, the application's workloads are not touched yet.
	detail, err := sites.Capacity(ctx, "calc", "west")
	if err != nil {
		t.Fatalf("capacity: %v", err)
	}
	t.Logf("capacity: %s", detail)
	if detail != "capacity apps/v1 Deployment "+capacityName+" → 1 ready" {
		t.Errorf("capacity detail %q", detail)
	}
	if web := getIn(t, west, gvrDeployments, "calc", "web"); web == nil || replicasOf(web) != 0 {
		t.Errorf("capacity scaled the application's workloads")
	}
	detail, err = sites.Activate(ctx, "calc", "west")
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	t.Logf("activate: %s", detail)
	if !strings.HasPrefix(detail, "capacity apps/v1 Deployment "+capacityName+" → 1 ready; ") {
		t.Errorf("detail %q: want the capacity first", detail)
	}
	checkActive := func(when string) {
		t.Helper()
		for _, c := range []struct {
			gvr       schema.GroupVersionResource
			ns, name  string
			replicas  int64
			readyWant int64
		}{
			{gvrDeployments, "kube-system", "capacity", 1, 1},
			{gvrDeployments, "calc", "web", 3, 3},
			{gvrStatefulSets, "calc", "db", 1, 1},
		} {
			o := getIn(t, west, c.gvr, c.ns, c.name)
			if o == nil {
				t.Fatalf("%s: %s/%s missing on west", when, c.ns, c.name)
			}
			ready, _, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
			if replicasOf(o) != c.replicas || ready < c.readyWant {
				t.Errorf("%s: %s/%s on west has %d replicas, %d ready; want %d, %d ready", when, c.ns, c.name, replicasOf(o), ready, c.replicas, c.readyWant)
			}
		}
	}
	checkActive("after activate")
	if n := workers(t, west); n == 0 {
		t.Error("web is ready on west without workers")
	}
	if getIn(t, west, gvrHPAs, "calc", "web") == nil {
		t.Error("the deferred autoscaler was not applied on west")
	}

	detail, err = sites.Activate(ctx, "calc", "west")
	if err != nil {
		t.Fatalf("second activate: %v", err)
	}
	t.Logf("activate again: %s", detail)
	checkActive("after a second activate")

	detail, err = sites.StandBy(ctx, "calc", "east")
	if err != nil {
		t.Fatalf("stand-by: %v", err)
	}
	t.Logf("stand-by: %s", detail)
	checkStandBy := func(when string) {
		t.Helper()
		for _, c := range []struct {
			gvr    schema.GroupVersionResource
			name   string
			record string
		}{{gvrDeployments, "web", "3"}, {gvrStatefulSets, "db", "1"}} {
			o := getIn(t, east, c.gvr, "calc", c.name)
			if o == nil {
				t.Fatalf("%s: %s missing on east (cold and pilot-light scale down, never delete)", when, c.name)
			}
			if replicasOf(o) != 0 || o.GetAnnotations()[objects.AnnotationActiveReplicas] != c.record {
				t.Errorf("%s: east's %s has %d replicas, recorded %q; want 0, %q", when, c.name, replicasOf(o),
					o.GetAnnotations()[objects.AnnotationActiveReplicas], c.record)
			}
		}
	}
	checkStandBy("after stand-by")
	detail, err = sites.StandBy(ctx, "calc", "east")
	if err != nil {
		t.Fatalf("second stand-by: %v", err)
	}
	if detail != "pilot-light stand-by: 2 already standing by" {
		t.Errorf("second stand-by: %q", detail)
	}
	checkStandBy("after a second stand-by")

	// East's autoscaler stays: the HPA controller does not scale a target at zero
	// replicas, which is why StandBy can leave it in place.
	eventually(t, 2*time.Minute, "east's autoscaler disabled by the zero replicas", func() (bool, string) {
		h, err := east.Kube.AutoscalingV2().HorizontalPodAutoscalers("calc").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return scalingDisabled(h), fmt.Sprint(h.Status.Conditions)
	})
	checkStandBy("after the autoscaler's sync")

	// Replication now runs from west. East's workloads are the application's own, not
	// copies hadron wrote: the replicator leaves them alone (a conflict), so it does not
	// undo StandBy; it only keeps east's deferred store.
	back := startReplicator(t, app, west, east)
	eventually(t, time.Minute, "replicator from west idle", func() (bool, string) { return back.r.Idle(), "busy" })
	for _, p := range back.r.Problems() {
		t.Logf("replication west → east: %s %s: %s", p.Ref, p.Action, p.Reason)
	}
	checkStandBy("with replication from west")
	back.stop()

	// Failback: east's own workloads come back to the counts StandBy recorded, after
	// east's capacity; then west stands by again.
	applyAll(t, east, parse(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: capacity, namespace: kube-system},
  spec: {replicas: 0, selector: {matchLabels: {app: capacity}}, template: {metadata: {labels: {app: capacity}},
  spec: {containers: [{name: c, image: capacity:1}]}}}}`))
	detail, err = sites.Activate(ctx, "calc", "east")
	if err != nil {
		t.Fatalf("failback activate: %v", err)
	}
	t.Logf("failback activate: %s", detail)
	if !strings.Contains(detail, "restored deployments/calc/web → 3") || !strings.Contains(detail, "restored statefulsets/calc/db → 1") {
		t.Errorf("failback detail %q: want east's own workloads restored", detail)
	}
	for _, c := range []struct {
		gvr      schema.GroupVersionResource
		name     string
		replicas int64
	}{{gvrDeployments, "web", 3}, {gvrStatefulSets, "db", 1}} {
		o := getIn(t, east, c.gvr, "calc", c.name)
		ready, _, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
		if replicasOf(o) != c.replicas || ready < c.replicas {
			t.Errorf("failback: east's %s has %d replicas, %d ready; want %d", c.name, replicasOf(o), ready, c.replicas)
		}
	}
	detail, err = sites.StandBy(ctx, "calc", "west")
	if err != nil {
		t.Fatalf("west stands by: %v", err)
	}
	t.Logf("west stands by: %s", detail)
	if web := getIn(t, west, gvrDeployments, "calc", "web"); replicasOf(web) != 0 || web.GetAnnotations()[objects.AnnotationActiveReplicas] != "3" {
		t.Errorf("west's web after stand-by: %d replicas, recorded %q", replicasOf(web), web.GetAnnotations()[objects.AnnotationActiveReplicas])
	}
}

// testComputeErrors: a capacity object the site does not have is a permanent error
// naming it; workloads that cannot become ready are a retryable error naming them.
func testComputeErrors(t *testing.T, w *world) {
	west := w.conns["west"]
	ctx := context.Background()
	ghost := computeApp(t, "ghost", `[{apiVersion: apps/v1, kind: Deployment, namespace: kube-system, name: missing, replicas: 1}]`)
	stuck := computeApp(t, "stuck", "")
	w.fleet.Applications = append(w.fleet.Applications, ghost, stuck)
	// The workload asks for a node no site has: never ready.
	applyAll(t, west, parse(t, `{apiVersion: v1, kind: Namespace, metadata: {name: stuck}}`),
		parse(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: never, namespace: stuck, labels: {app.kubernetes.io/part-of: stuck}},
  spec: {replicas: 1, selector: {matchLabels: {app: never}}, template: {metadata: {labels: {app: never}},
  spec: {nodeSelector: {hadron.dev/no-such-node: "true"}, containers: [{name: c, image: never:1}]}}}}`))
	sites := &compute.Sites{Fleet: w.fleet, ReadyTimeout: 3 * time.Second, Connect: func(name string) (*site.Conn, error) {
		return w.conns[name], nil
	}}

	_, err := sites.Activate(ctx, "ghost", "west")
	t.Logf("missing capacity: %v", err)
	var perm *retry.PermanentError
	if !errors.Is(err, compute.ErrCapacityMissing) || !errors.As(err, &perm) ||
		!strings.Contains(err.Error(), "apps/v1 Deployment kube-system/missing") {
		t.Errorf("missing capacity: %v; want a permanent ErrCapacityMissing naming kube-system/missing", err)
	}

	_, err = sites.Activate(ctx, "stuck", "west")
	t.Logf("stuck workload: %v", err)
	if !errors.Is(err, compute.ErrNotReady) || !retry.IsRetryable(err) || !strings.Contains(err.Error(), "deployments/stuck/never 0/1 ready") {
		t.Errorf("stuck workload: %v; want a retryable ErrNotReady naming deployments/stuck/never 0/1 ready", err)
	}
}

// computeApp is a pilot-light application of its own namespace, east active, with
// the given capacity list (YAML, "" for none).
func computeApp(t *testing.T, name, capacity string) *v1alpha1.Application {
	t.Helper()
	y := `{metadata: {name: ` + name + `}, spec: {namespace: ` + name + `,
  selector: {matchLabels: {app.kubernetes.io/part-of: ` + name + `}},
  policy: {mode: active-passive, activeSite: east, standbySites: [west], standby: pilot-light`
	if capacity != "" {
		y += `, capacity: ` + capacity
	}
	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict([]byte(y+`}}}`), &app); err != nil {
		t.Fatal(err)
	}
	return &app
}

// calcObjects are calc's objects on east: a Deployment with an autoscaler and a
// StatefulSet behind a headless Service.
func calcObjects(t *testing.T) []*unstructured.Unstructured {
	const part = `app.kubernetes.io/part-of: calc`
	var out []*unstructured.Unstructured
	for _, y := range []string{
		`{apiVersion: v1, kind: Namespace, metadata: {name: calc}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: calc, labels: {` + part + `}},
  spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}}}`,
		`{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: calc, labels: {` + part + `}},
  spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 5}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: db, namespace: calc, labels: {` + part + `}},
  spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}}`,
		`{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: calc, labels: {` + part + `}},
  spec: {replicas: 1, serviceName: db, selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: "db:1"}]}}}}`,
	} {
		out = append(out, parse(t, y))
	}
	return out
}

// getIn returns an object of namespace ns, or nil when it does not exist.
func getIn(t *testing.T, c *site.Conn, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return o
}

func replicasOf(o *unstructured.Unstructured) int64 {
	n, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
	if !found {
		return 1
	}
	return n
}

func workers(t *testing.T, c *site.Conn) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: nodes.LabelGroup + "=" + nodes.GroupWorker})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func scalingDisabled(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "ScalingDisabled" {
			return true
		}
	}
	return false
}

// startComputeWorld is startWorld with seed 003's west: only tainted control nodes,
// and workers added while the Deployment kube-system/capacity has ready replicas.
func startComputeWorld(t *testing.T) *world {
	t.Helper()
	return startWorld(t, func(c *controlplane.Config) {
		if c.Name == "west" {
			c.Autoscaler = capacityName
		}
	})
}
