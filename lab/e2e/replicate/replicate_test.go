package replicate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	checkcmd "hadron.dev/hadron/internal/cmd/check"
	replicatecmd "hadron.dev/hadron/internal/cmd/replicate"
	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// running is a Replicator started in the background.
type running struct {
	r      *replicate.Replicator
	cancel context.CancelFunc
	done   chan error
}

func startReplicator(t testing.TB, app *v1alpha1.Application, active *site.Conn, standbys ...*site.Conn) *running {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := replicate.New(replicate.Config{App: app, Active: active, Standbys: standbys, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(run.stop)
	eventually(t, time.Minute, "replicator caches synced", func() (bool, string) { return r.Synced(), "" })
	return run
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // a second stop returns at once
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestReplicationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two control planes")
	}
	w := startWorld(t)
	east, west := w.conns["east"], w.conns["west"]
	app := shopApp(t)
	w.fleet.Applications = []*v1alpha1.Application{app}

	applyAll(t, east, parse(t, widgetCRD))
	applyAll(t, east, shopObjects(t)...)
	applyAll(t, east, parse(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w1, namespace: shop, labels: {`+partOf+`}}, spec: {size: 1}}`))
	// A person made this on west; hadron must leave it alone and say so.
	ctx := context.Background()
	if _, err := west.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	byHand := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "byhand", Namespace: "shop", Labels: map[string]string{"app.kubernetes.io/part-of": "shop"}},
		Data: map[string]string{"owner": "west-person"}}
	if _, err := west.Kube.CoreV1().ConfigMaps("shop").Create(ctx, byHand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	run := startReplicator(t, app, east, west)

	t.Run("objects reach the stand-by transformed", func(t *testing.T) {
		eventually(t, time.Minute, "settings on west", func() (bool, string) {
			o := get(t, west, gvrConfigMaps, "settings")
			return o != nil, "missing"
		})
		s := get(t, west, gvrConfigMaps, "settings")
		data, _, _ := unstructured.NestedStringMap(s.Object, "data")
		if data["REGION"] != "test-west-2" || data["K"] != "v1" {
			t.Errorf("settings data %v: want the west rule applied", data)
		}
		ann := s.GetAnnotations()
		if ann[objects.AnnotationApplication] != "shop" || ann[objects.AnnotationSourceSite] != "east" || ann[objects.AnnotationContentHash] == "" ||
			ann[objects.AnnotationSourceResourceVersion] == "" || s.GetLabels()[objects.LabelSite] != "west" {
			t.Errorf("ownership: annotations %v labels %v", ann, s.GetLabels())
		}

		eventually(t, time.Minute, "deployment on west", func() (bool, string) { return get(t, west, gvrDeployments, "web") != nil, "missing" })
		d := get(t, west, gvrDeployments, "web")
		if n, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); n != 0 {
			t.Errorf("pilot-light replicas %d, want 0", n)
		}
		if d.GetAnnotations()[objects.AnnotationActiveReplicas] != "3" {
			t.Errorf("active replicas not recorded: %v", d.GetAnnotations())
		}
		if h := d.GetAnnotations()[replicate.ExternalDNSHostname]; h != "west."+mainName {
			t.Errorf("external-dns hostname %q, want west's name", h)
		}
		if get(t, west, gvrHPAs, "web") != nil {
			t.Error("pilot-light: the autoscaler was applied and would scale web back up")
		}
		eventually(t, 30*time.Second, "deferred store holds the autoscaler", func() (bool, string) {
			cm := get(t, west, gvrConfigMaps, replicate.DeferredStoreName("shop"))
			if cm == nil {
				return false, "no deferred store"
			}
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			_, ok := data["HorizontalPodAutoscaler.autoscaling_web.json"]
			return ok, fmt.Sprint(len(data), " keys")
		})

		eventually(t, 30*time.Second, "ingress on west", func() (bool, string) { return get(t, west, gvrIngresses, "web") != nil, "missing" })
		ing := get(t, west, gvrIngresses, "web")
		rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
		var hosts []string
		for _, r := range rules {
			hosts = append(hosts, r.(map[string]any)["host"].(string))
		}
		if strings.Join(hosts, ",") != mainName+",west."+mainName {
			t.Errorf("ingress hosts %v", hosts)
		}
		eventually(t, 30*time.Second, "service and TLS secret on west", func() (bool, string) {
			return get(t, west, gvrServices, "web") != nil && get(t, west, gvrSecrets, "shop-tls") != nil, "missing"
		})
		if get(t, west, gvrSecrets, "db-password") != nil {
			t.Error("a secret the policy does not name was replicated")
		}
		if svc := get(t, west, gvrServices, "db"); svc != nil && svc.GetAnnotations()[objects.AnnotationImportedFrom] == "" {
			t.Error("the exported service was replicated as a copy")
		}
	})

	t.Run("hand-made object left alone, bad patch and missing kind reported per object", func(t *testing.T) {
		eventually(t, 30*time.Second, "problems reported", func() (bool, string) {
			var seen []string
			for _, c := range run.r.Problems() {
				seen = append(seen, fmt.Sprintf("%s %s %s", c.Action, c.Ref, c.Reason))
			}
			all := strings.Join(seen, "\n")
			return strings.Contains(all, "conflict ConfigMap/shop/byhand") &&
				strings.Contains(all, "error ConfigMap/shop/broken") && strings.Contains(all, "patch does not apply") &&
				strings.Contains(all, "error Widget.example.com/shop/w1") && strings.Contains(all, "not served"), all
		})
		cm, err := west.Kube.CoreV1().ConfigMaps("shop").Get(ctx, "byhand", metav1.GetOptions{})
		if err != nil || cm.Data["owner"] != "west-person" || cm.Annotations[objects.AnnotationApplication] != "" {
			t.Errorf("hand-made configmap changed: %v %v", cm, err)
		}
		if get(t, west, gvrConfigMaps, "broken") != nil {
			t.Error("object with a failing patch was written")
		}
	})

	t.Run("update and delete propagate", func(t *testing.T) {
		if _, err := east.Kube.CoreV1().ConfigMaps("shop").Patch(ctx, "settings", "application/merge-patch+json", []byte(`{"data":{"K":"v2"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := east.Kube.CoreV1().ConfigMaps("shop").Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "update on west", func() (bool, string) {
			s := get(t, west, gvrConfigMaps, "settings")
			v, _, _ := unstructured.NestedString(s.Object, "data", "K")
			return v == "v2", v
		})
		eventually(t, 30*time.Second, "delete on west", func() (bool, string) { return get(t, west, gvrConfigMaps, "gone") == nil, "still there" })
	})

	t.Run("a shared watch hands each user its namespace's events, and a late user the cache", func(t *testing.T) {
		testSharedWatchDispatch(t, east)
	})

	t.Run("applications share one watch per kind per site; a relabelled object leaves the stand-by", func(t *testing.T) {
		testSharedWatches(t, east, west)
	})

	t.Run("a snapshot read from the running replicator's caches equals one listed from the API", func(t *testing.T) {
		eventually(t, 30*time.Second, "replicator idle", func() (bool, string) { return run.r.Idle(), "busy" })
		if _, ok := east.Cached(gvrConfigMaps, "shop", false, labels.Everything()); !ok {
			t.Fatal("east's ConfigMaps are not cached while shop's replicator runs")
		}
		cached, err := replicate.Take(ctx, app, east, []*site.Conn{west}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var fresh []*site.Conn
		for _, s := range w.fleet.Sites {
			c, err := site.Connect(s, w.dir)
			if err != nil {
				t.Fatal(err)
			}
			fresh = append(fresh, c)
		}
		if _, ok := fresh[0].Cached(gvrConfigMaps, "shop", false, labels.Everything()); ok {
			t.Fatal("a new connection claims a cache")
		}
		listed, err := replicate.Take(ctx, app, fresh[0], fresh[1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := snapshotSummary(cached), snapshotSummary(listed); a != b {
			t.Errorf("from the caches:\n%s\nlisted:\n%s", a, b)
		}
	})

	t.Run("parity catches a drift; a restart re-applies only what drifted", func(t *testing.T) {
		eventually(t, 30*time.Second, "replicator idle", func() (bool, string) { return run.r.Idle(), "busy" })
		run.stop()
		if _, err := west.Kube.AppsV1().Deployments("shop").Patch(ctx, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":2}}`),
			metav1.PatchOptions{FieldManager: "kubectl-scale"}); err != nil {
			t.Fatal(err)
		}
		snap, err := replicate.Take(ctx, app, east, []*site.Conn{west}, nil)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]replicate.Parity{}
		for _, p := range replicate.ParityOf(snap.Changes) {
			states[p.Object] = p
		}
		want := map[string]replicate.State{
			"Deployment.apps/shop/web":                     replicate.StateDrifted,
			"ConfigMap/shop/settings":                      replicate.StateInSync,
			"ConfigMap/shop/byhand":                        replicate.StateNotOwned,
			"ConfigMap/shop/broken":                        replicate.StateError,
			"Service/shop/web":                             replicate.StateInSync,
			"Secret/shop/shop-tls":                         replicate.StateInSync,
			"Ingress.networking.k8s.io/shop/web":           replicate.StateInSync,
			"HorizontalPodAutoscaler.autoscaling/shop/web": replicate.StateDeferred,
			"Widget.example.com/shop/w1":                   replicate.StateError,
		}
		for obj, st := range want {
			if states[obj].State != st {
				t.Errorf("%s: %s (%s %v), want %s", obj, states[obj].State, states[obj].Reason, states[obj].Diff, st)
			}
		}
		if d := strings.Join(states["Deployment.apps/shop/web"].Diff, ";"); !strings.Contains(d, "spec.replicas: 2, want 0") {
			t.Errorf("drift diff %q", d)
		}

		// The CLI says the same and exits non-zero.
		fleetFile := writeFleet(t, w)
		var out bytes.Buffer
		cmd := checkcmd.Command()
		cmd.SetArgs([]string{"parity", "shop", "-f", fleetFile, "-o", "json"})
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		err = cmd.Execute()
		if !errors.Is(err, checkcmd.ErrNotReady) {
			t.Errorf("check parity error %v, want ErrNotReady\n%s", err, out.String())
		}
		var res struct {
			OK      bool               `json:"ok"`
			Objects []replicate.Parity `json:"objects"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.OK || len(res.Objects) < len(want) {
			t.Errorf("check parity -o json: %v %+v\n%s", err, res, out.String())
		}

		again := startReplicator(t, app, east, west)
		eventually(t, 30*time.Second, "drift corrected", func() (bool, string) {
			d := get(t, west, gvrDeployments, "web")
			n, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			// Counted after the write returns: wait for the count too, not only the effect.
			return n == 0 && again.r.Idle() && again.r.Counts()[objects.ActionUpdate] >= 1, fmt.Sprint("replicas ", n)
		})
		c := again.r.Counts()
		if c[objects.ActionUpdate] != 1 || c[objects.ActionCreate] != 0 || c[objects.ActionDelete] != 0 {
			t.Errorf("restart wrote %v; want only the drifted deployment updated", c)
		}
		run = again
	})

	t.Run("exported service resolves and connects from the other site", func(t *testing.T) {
		serve(t, dbLB)
		forward(t, dbFromW, dbLB)
		members := discovery.Members(app, w.fleet.Sites, w.conns)
		if _, err := discovery.Sync(ctx, app, members, false, nil); err != nil {
			t.Fatal(err)
		}
		svc := get(t, west, gvrServices, "db")
		if svc == nil || svc.GetAnnotations()[objects.AnnotationImportedFrom] != "east" {
			t.Fatalf("imported service %v", svc)
		}
		// The lab's addresses are loopback, which an EndpointSlice may not hold: the
		// import is an ExternalName naming the address as seen from west.
		if typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type"); typ != "ExternalName" {
			t.Errorf("import type %q", typ)
		}
		if n, _, _ := unstructured.NestedString(svc.Object, "spec", "externalName"); n != "127.0.212.20" {
			t.Errorf("externalName %q, want west's view of east's address", n)
		}
		probes, err := discovery.CheckConnectivity(ctx, "shop", "shop", members)
		if err != nil || len(probes) != 1 || !probes[0].OK || probes[0].From != "west" || probes[0].Address != dbFromW {
			t.Fatalf("connectivity %+v %v", probes, err)
		}
		// The CLI proves the same, and exits zero.
		var out bytes.Buffer
		cli := checkcmd.Command()
		cli.SetArgs([]string{"connectivity", "shop", "-f", writeFleet(t, w), "-o", "json"})
		cli.SetOut(&out)
		cli.SetErr(io.Discard)
		if err := cli.Execute(); err != nil || !strings.Contains(out.String(), `"ok": true`) {
			t.Errorf("check connectivity: %v\n%s", err, out.String())
		}
		// The replicator, still running, leaves the import alone.
		if get(t, west, gvrServices, "db") == nil {
			t.Error("replicator removed the import")
		}

		noExport := *app
		rep := *app.Spec.Replication
		rep.Exports = nil
		noExport.Spec.Replication = &rep
		if _, err := discovery.Sync(ctx, &noExport, members, false, nil); err != nil {
			t.Fatal(err)
		}
		if get(t, west, gvrServices, "db") != nil {
			t.Error("import not removed after the export went")
		}
	})

	t.Run("discovery reads the caches it watches and plans what a listing plans", func(t *testing.T) {
		members := discovery.Members(app, w.fleet.Sites, w.conns)
		release, err := discovery.Watch(app, members)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		eventually(t, 30*time.Second, "west's EndpointSlices cached", func() (bool, string) {
			_, ok := west.Cached(gvrSlices, "shop", false, labels.Everything())
			return ok, "not synced"
		})
		// The import the previous subtest removed comes back; the cache then holds it, so
		// a dry run from the caches plans nothing to change, as one from a fresh listing.
		if _, err := discovery.Sync(ctx, app, members, false, nil); err != nil {
			t.Fatal(err)
		}
		var fresh []discovery.Member
		for _, m := range members {
			c, err := site.Connect(m.Site, w.dir)
			if err != nil {
				t.Fatal(err)
			}
			fresh = append(fresh, discovery.Member{Site: m.Site, Conn: c})
		}
		summary := func(cs []objects.Change) string {
			var lines []string
			for _, c := range cs {
				lines = append(lines, fmt.Sprintf("%s %s %s", c.Site, c.Ref, c.Action))
			}
			sort.Strings(lines)
			return strings.Join(lines, "\n")
		}
		eventually(t, 30*time.Second, "the cached plan equals the listed one, all in sync", func() (bool, string) {
			cached, err := discovery.Sync(ctx, app, members, true, nil)
			if err != nil {
				return false, err.Error()
			}
			listed, err := discovery.Sync(ctx, app, fresh, true, nil)
			if err != nil {
				return false, err.Error()
			}
			a, b := summary(cached), summary(listed)
			mutates := false
			for _, c := range cached {
				mutates = mutates || c.Mutates()
			}
			return a == b && len(cached) > 0 && !mutates, "cached:\n" + a + "\nlisted:\n" + b
		})
		// Gone again, for the command's subtest below to bring back.
		noExport := *app
		rep := *app.Spec.Replication
		rep.Exports = nil
		noExport.Spec.Replication = &rep
		if _, err := discovery.Sync(ctx, &noExport, members, false, nil); err != nil {
			t.Fatal(err)
		}
		if get(t, west, gvrServices, "db") != nil {
			t.Error("import not removed after the export went (planned from the caches)")
		}
	})

	t.Run("readiness flags the missing CRD, the registry and the certificate", func(t *testing.T) {
		r, err := replicate.CheckReadiness(ctx, app, east, []*site.Conn{west}, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, f := range r.Findings {
			lines = append(lines, fmt.Sprintf("%s %s %s %s | %s", f.Level, f.Check, f.Site, f.Message, f.Action))
		}
		all := strings.Join(lines, "\n")
		for _, want := range []string{
			"fail crds west kind Widget.example.com",
			"warn images west pulls 1 image(s) from registry.east.test.example",
			"fail certificate east secret shop-tls: certificate does not cover west." + mainName,
			"capacity west",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("no finding %q in:\n%s", want, all)
			}
		}
		if r.OK() {
			t.Error("readiness OK despite failures")
		}
		var out bytes.Buffer
		cli := checkcmd.Command()
		cli.SetArgs([]string{"readiness", "shop", "-f", writeFleet(t, w)})
		cli.SetOut(&out)
		cli.SetErr(io.Discard)
		if err := cli.Execute(); !errors.Is(err, checkcmd.ErrNotReady) || !strings.Contains(out.String(), "install the CustomResourceDefinition for Widget.example.com on west") {
			t.Errorf("check readiness: %v\n%s", err, out.String())
		}
	})

	t.Run("replicate --dry-run prints the same plan", func(t *testing.T) {
		var out bytes.Buffer
		cmd := replicatecmd.Command()
		cmd.SetArgs([]string{"--dry-run", "-o", "json", "-f", writeFleet(t, w), "shop"})
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Changes []struct{ Site, Object, Action string }
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		found := false
		for _, c := range res.Changes {
			found = found || (c.Object == "ConfigMap/shop/byhand" && c.Action == "conflict")
		}
		if !found {
			t.Errorf("dry-run plan lacks the conflict:\n%s", out.String())
		}
	})

	t.Run("a selector that matches nothing is reported", func(t *testing.T) {
		empty := shopApp(t)
		empty.Name = "empty"
		empty.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "nothing"}}
		empty.Spec.Replication = nil
		r := startReplicator(t, empty, east, west)
		if ws := r.r.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "matches no objects") {
			t.Errorf("warnings %v", ws)
		}
		r.stop()
		snap, err := replicate.Take(ctx, empty, east, []*site.Conn{west}, nil)
		if err != nil || len(snap.Warnings) != 1 {
			t.Errorf("snapshot warnings %v %v", snap, err)
		}
	})

	t.Run("a stand-by cut off catches up when the link heals", func(t *testing.T) { testCutOff(t, east, west) })

	t.Run("hadron replicate runs replication and discovery until interrupted", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cli := replicatecmd.Command()
		cli.SetArgs([]string{"shop", "-f", writeFleet(t, w), "--discovery-interval", "200ms"})
		cli.SetOut(io.Discard)
		cli.SetErr(io.Discard)
		done := make(chan error, 1)
		go func() { done <- cli.ExecuteContext(cctx) }()
		eventually(t, time.Minute, "import of the exported service on west", func() (bool, string) {
			svc := get(t, west, gvrServices, "db")
			return svc != nil && svc.GetAnnotations()[objects.AnnotationImportedFrom] == "east", "missing"
		})
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hadron replicate: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("hadron replicate did not stop on interrupt")
		}
	})

	t.Run("a cold stand-by keeps workloads off until activated", func(t *testing.T) { testColdStandby(t, east, west) })

	t.Run("activate restores the active replicas and applies deferred objects", func(t *testing.T) {
		run.stop()
		acts, err := replicate.Activate(ctx, "shop", "shop", west)
		if err != nil {
			t.Fatalf("%v %+v", err, acts)
		}
		d := get(t, west, gvrDeployments, "web")
		if n, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); n != 3 {
			t.Errorf("replicas after activation %d, want 3", n)
		}
		if h := get(t, west, gvrHPAs, "web"); h == nil || h.GetAnnotations()[objects.AnnotationApplication] != "shop" {
			t.Errorf("autoscaler not applied from the deferred store: %v", h)
		}
		// Everything else hadron wrote is still in place after the scale patch.
		if d.GetAnnotations()[objects.AnnotationContentHash] == "" || len(d.GetLabels()) == 0 {
			t.Errorf("scale patch lost fields: %v", d.GetAnnotations())
		}
	})
}

// writeFleet writes the world's fleet as a file, for the CLI.
func writeFleet(t testing.TB, w *world) string {
	t.Helper()
	var docs []string
	add := func(v any) {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	for _, s := range w.fleet.Sites {
		c := *s
		c.APIVersion, c.Kind = v1alpha1.GroupVersion, v1alpha1.KindSite
		add(c)
	}
	for _, a := range w.fleet.Applications {
		c := *a
		c.APIVersion, c.Kind = v1alpha1.GroupVersion, v1alpha1.KindApplication
		add(c)
	}
	p := filepath.Join(w.dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSharedWatches starts a second application beside shop, in its own namespace,
// while shop's replicator runs: the sites' informers are shared, so the second one
// adds at most its namespace's Secret watch per site, and takes it away when it stops
// without stopping the watches shop still reads. With the selector applied to the
// shared cache rather than to the watch, an object relabelled out of the selection
// must still leave the stand-by.
func testSharedWatches(t *testing.T, east, west *site.Conn) {
	ctx := context.Background()
	beforeE, beforeW := east.Watched(), west.Watched()
	if beforeE == 0 || beforeW == 0 {
		t.Fatalf("shop's replicator runs but the sites have %d and %d watches", beforeE, beforeW)
	}
	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict([]byte(`
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: cart}
spec:
  namespace: cart
  selector: {matchLabels: {app.kubernetes.io/part-of: cart}}
  policy: {mode: active-passive, activeSite: east, standbySites: [west], standby: pilot-light}
  dns: {zone: test.example, name: cart.test.example}
  replication: {secrets: [cart-tls]}
`), &app); err != nil {
		t.Fatal(err)
	}
	applyAll(t, east,
		parse(t, `{apiVersion: v1, kind: Namespace, metadata: {name: cart}}`),
		parse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: basket, namespace: cart, labels: {app.kubernetes.io/part-of: cart}}, data: {K: v1}}`))
	cart := startReplicator(t, &app, east, west)
	eventually(t, time.Minute, "cart's basket on west", func() (bool, string) {
		return getIn(t, west, gvrConfigMaps, "cart", "basket") != nil, "missing"
	})
	// Kinds beyond Secrets are watched once per site whoever needs them; the
	// second application's Secrets are its own namespace's watch.
	if e, w := east.Watched()-beforeE, west.Watched()-beforeW; e > 1 || w > 1 {
		t.Errorf("a second application added %d watches on east and %d on west; want at most its Secrets' one each", e, w)
	}
	if _, err := east.Kube.CoreV1().ConfigMaps("cart").Patch(ctx, "basket", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"app.kubernetes.io/part-of":"elsewhere"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "relabelled basket gone from west", func() (bool, string) {
		return getIn(t, west, gvrConfigMaps, "cart", "basket") == nil, "still there"
	})
	cart.stop()
	if e, w := east.Watched(), west.Watched(); e != beforeE || w != beforeW {
		t.Errorf("after cart stopped: %d watches on east, %d on west; want shop's %d and %d", e, w, beforeE, beforeW)
	}
	if _, err := east.Kube.CoreV1().ConfigMaps("shop").Patch(ctx, "settings", "application/merge-patch+json", []byte(`{"data":{"K":"v3"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "shop's update on west after cart stopped", func() (bool, string) {
		s := get(t, west, gvrConfigMaps, "settings")
		v, _, _ := unstructured.NestedString(s.Object, "data", "K")
		return v == "v3", v
	})
}

// seenNames records the names a handler was handed.
type seenNames struct {
	mu    sync.Mutex
	names map[string]bool
}

func (s *seenNames) handler() cache.ResourceEventHandler {
	add := func(obj any) {
		if o, ok := obj.(*unstructured.Unstructured); ok {
			s.mu.Lock()
			s.names[o.GetNamespace()+"/"+o.GetName()] = true
			s.mu.Unlock()
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }}
}

func (s *seenNames) has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names[name]
}

// testSharedWatchDispatch uses a kind no replicator watches (LimitRange), so that the
// connection's count of informers is the test's alone.
func testSharedWatchDispatch(t *testing.T, east *site.Conn) {
	ctx := context.Background()
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}
	lr := func(ns, name string) {
		t.Helper()
		applyAll(t, east, parse(t, `{apiVersion: v1, kind: LimitRange, metadata: {name: `+name+`, namespace: `+ns+`}, spec: {limits: [{type: Container, max: {cpu: "2"}}]}}`))
	}
	lr("shop", "a")
	lr("default", "b")
	before := east.Watched()
	inShop, inDefault := &seenNames{names: map[string]bool{}}, &seenNames{names: map[string]bool{}}
	w1, err := east.Watch(gvr, "shop", false, inShop.handler())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "first user synced", func() (bool, string) { return w1.Synced(), "" })
	if !inShop.has("shop/a") || inShop.has("default/b") {
		t.Errorf("shop's user was handed %v; want shop/a and nothing of default", inShop.names)
	}
	w2, err := east.Watch(gvr, "default", false, inDefault.handler())
	if err != nil {
		t.Fatal(err)
	}
	if n := east.Watched(); n != before+1 {
		t.Errorf("two users of one kind: %d informers, want %d", n, before+1)
	}
	eventually(t, 30*time.Second, "late user synced", func() (bool, string) { return w2.Synced(), "" })
	if !inDefault.has("default/b") {
		t.Errorf("the late user was not handed the cached default/b: %v", inDefault.names)
	}
	lr("shop", "c")
	eventually(t, 30*time.Second, "shop/c handed to shop's user", func() (bool, string) { return inShop.has("shop/c"), "" })
	w1.Release()
	lr("default", "d")
	eventually(t, 30*time.Second, "default/d handed to default's user after the other left", func() (bool, string) { return inDefault.has("default/d"), "" })
	if inDefault.has("shop/c") || inShop.has("default/d") {
		t.Errorf("a user was handed another namespace's object: shop's %v, default's %v", inShop.names, inDefault.names)
	}
	w2.Release()
	if n := east.Watched(); n != before {
		t.Errorf("after both released: %d informers, want %d", n, before)
	}
	_ = east.Kube.CoreV1().LimitRanges("shop").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = east.Kube.CoreV1().LimitRanges("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
}

// snapshotSummary is a snapshot's source objects and plan, one line each, sorted.
func snapshotSummary(s *replicate.Snapshot) string {
	var lines []string
	for _, o := range s.Source {
		lines = append(lines, "source "+o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	for _, c := range s.Changes {
		lines = append(lines, fmt.Sprintf("%s %s %s", c.Site, c.Ref, c.Action))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
