package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/lab/internal/controlplane"
)

var (
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	dnsEndpointGVR = schema.GroupVersionResource{Group: "externaldns.k8s.io", Version: "v1alpha1", Resource: "dnsendpoints"}
)

const dnsFleet = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec:
  region: test-1
  kubeconfig: %s
  kubeContext: hadron-lab-dnse2e
  loadBalancers: [{address: "192.0.2.10:443"}]
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: west}
spec:
  region: test-2
  loadBalancers: [{address: "198.51.100.20:443"}]
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  namespace: default
  policy: {mode: active-passive, activeSite: east, standbySites: [west]}
  dns: {zone: gslb.example.com, name: shop.gslb.example.com}
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: blog}
spec:
  namespace: default
  policy: {mode: active-passive, activeSite: west}
  dns: {zone: gslb.example.com, name: blog.gslb.example.com}
`

// dnsEndpointCluster starts a control plane named name on ip with the DNSEndpoint
// CRD served, and returns its directory and a dynamic client.
func dnsEndpointCluster(t *testing.T, name, ip string) (string, dynamic.Interface) {
	t.Helper()
	dir := t.TempDir()
	cfg := controlplane.Config{Name: name, Region: "test-1", Zones: []string{"test-1a"}, NodesPerZone: 1,
		IP: ip, Dir: dir, Binary: binary(t, "hadron-lab", "HADRON_LAB_BINARY"),
		Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controlplane.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(90 * time.Second):
		}
	})
	eventually(t, 4*time.Minute, "control plane ready", func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("control plane stopped: %v", err)
		default:
		}
		_, err := os.Stat(controlplane.ReadyPath(dir))
		return err == nil, fmt.Sprint(err)
	})
	rc, err := clientcmd.BuildConfigFromFlags("", controlplane.KubeconfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(rc)
	if _, err := dyn.Resource(crdGVR).Create(ctx, dnsendpoint.CRD(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "DNSEndpoint served", func() (bool, string) {
		_, err := dyn.Resource(dnsEndpointGVR).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return dir, dyn
}

// TestDNSEndpointSync runs `hadron dns sync --provider dnsendpoint` against a real
// kube-apiserver: the objects appear with hadron's owner labels, a second sync plans
// nothing, and an object of the same name that hadron did not write stays untouched.
func TestDNSEndpointSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	hadron := binary(t, "hadron", "HADRON_BINARY")
	dir, dyn := dnsEndpointCluster(t, "dnse2e", "127.0.11.1")
	ctx := context.Background()
	eps := dyn.Resource(dnsEndpointGVR).Namespace("default")
	// Someone else's object where hadron would put blog's records.
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
		"metadata": map[string]any{"name": "hadron-blog", "namespace": "default"},
		"spec": map[string]any{"endpoints": []any{map[string]any{
			"dnsName": "blog.gslb.example.com", "recordType": "A", "targets": []any{"203.0.113.9"}}}},
	}}
	foreign, err := eps.Create(ctx, foreign, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(fmt.Sprintf(dnsFleet, controlplane.KubeconfigPath(dir))), 0o644); err != nil {
		t.Fatal(err)
	}
	// dnsCmd runs `hadron dns VERB` for the ad hoc dnsendpoint provider at east.
	dnsCmd := func(verb string, extra ...string) string {
		t.Helper()
		args := append([]string{"dns", verb, "-f", fleetFile, "--provider", "dnsendpoint", "--site", "east", "--owner", "east"}, extra...)
		cctx, ccancel := context.WithTimeout(ctx, time.Minute)
		defer ccancel()
		out, err := exec.CommandContext(cctx, hadron, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("hadron %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	sync := func(extra ...string) string { t.Helper(); return dnsCmd("sync", extra...) }

	out := sync("--dry-run")
	if !strings.Contains(out, "+ DNSEndpoint default/hadron-shop") || !strings.Contains(out, "! DNSEndpoint default/hadron-blog exists") {
		t.Fatalf("dry-run plan:\n%s", out)
	}
	if _, err := eps.Get(ctx, "hadron-shop", metav1.GetOptions{}); err == nil {
		t.Fatal("--dry-run created an object")
	}

	sync()
	shop, err := eps.Get(ctx, "hadron-shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := shop.GetLabels(); l["hadron.dev/owner"] != "east" || l["app.kubernetes.io/managed-by"] != "hadron" {
		t.Errorf("labels %v", l)
	}
	endpoints, _, _ := unstructured.NestedSlice(shop.Object, "spec", "endpoints")
	got := fmt.Sprint(endpoints)
	for _, want := range []string{"dnsName:shop.gslb.example.com", "targets:[192.0.2.10]", "dnsName:east.shop.gslb.example.com", "dnsName:west.shop.gslb.example.com", "recordTTL:10"} {
		if !strings.Contains(got, want) {
			t.Errorf("hadron-shop endpoints lack %s: %s", want, got)
		}
	}
	blog, err := eps.Get(ctx, "hadron-blog", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if blog.GetResourceVersion() != foreign.GetResourceVersion() || len(blog.GetLabels()) != 0 {
		t.Errorf("foreign object changed: %v", blog.Object)
	}
	if targets := fmt.Sprint(blog.Object["spec"]); !strings.Contains(targets, "203.0.113.9") {
		t.Errorf("foreign object's records changed: %s", targets)
	}

	if out := sync(); !strings.Contains(out, "no changes") {
		t.Fatalf("second sync is not empty:\n%s", out)
	}

	// A leader's fence on the object, then the scrub a returning site runs before its
	// external-dns starts: the main name goes, the per-site names and the fence stay,
	// someone else's object is not touched.
	shop.SetAnnotations(map[string]string{dnsendpoint.AnnotationFence: "42"})
	if _, err := eps.Update(ctx, shop, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	scrub := func() string { t.Helper(); return dnsCmd("scrub") }
	if out := scrub(); !strings.Contains(out, "~ DNSEndpoint default/hadron-shop") {
		t.Fatalf("scrub plan:\n%s", out)
	}
	shop, err = eps.Get(ctx, "hadron-shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	endpoints, _, _ = unstructured.NestedSlice(shop.Object, "spec", "endpoints")
	got = fmt.Sprint(endpoints)
	if strings.Contains(got, "dnsName:shop.gslb.example.com") {
		t.Errorf("scrubbed hadron-shop still names the main name: %s", got)
	}
	for _, want := range []string{"dnsName:east.shop.gslb.example.com", "dnsName:west.shop.gslb.example.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("scrubbed hadron-shop lost %s: %s", want, got)
		}
	}
	if f := shop.GetAnnotations()[dnsendpoint.AnnotationFence]; f != "42" {
		t.Errorf("scrub changed the fence to %q, want 42", f)
	}
	if blog, err := eps.Get(ctx, "hadron-blog", metav1.GetOptions{}); err != nil || blog.GetResourceVersion() != foreign.GetResourceVersion() {
		t.Errorf("scrub changed the foreign object (%v)", err)
	}
	if out := scrub(); !strings.Contains(out, "no changes") {
		t.Fatalf("second scrub is not empty:\n%s", out)
	}
}

// TestFencedSiteScrubsItsDNSEndpoints runs three real daemons whose fleet writes
// DNSEndpoints into east's cluster (a real kube-apiserver). The leader writes the
// application's main name there; when east loses the etcd majority its daemon takes
// the main name out and keeps the per-site names, so east's external-dns (upsert-only)
// cannot keep writing an answer the failover that may follow no longer gives.
func TestFencedSiteScrubsItsDNSEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and daemons")
	}
	dir, dyn := dnsEndpointCluster(t, "scrube2e", "127.0.12.1")
	ctx := context.Background()
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx,
		&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": daemontest.App}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := daemontest.Start(t, 251, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
		east := f.Site("east")
		east.Spec.Kubeconfig, east.Spec.KubeContext = controlplane.KubeconfigPath(dir), controlplane.Context("scrube2e")
		f.DNSProviders = []*v1alpha1.DNSProvider{{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindDNSProvider},
			ObjectMeta: metav1.ObjectMeta{Name: "corp-external-dns"},
			Spec: v1alpha1.DNSProviderSpec{Type: v1alpha1.DNSProviderDNSEndpoint, Zone: "gslb.test",
				DNSEndpoint: &v1alpha1.DNSEndpointProvider{Sites: []string{"east"}}},
		}}
	}})
	w.WaitLeader(t, "east", "west", "witness")
	eps := dyn.Resource(dnsEndpointGVR).Namespace(daemontest.App)
	names := func() (string, error) {
		o, err := eps.Get(ctx, dnsendpoint.ObjectName(daemontest.App), metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		endpoints, _, _ := unstructured.NestedSlice(o.Object, "spec", "endpoints")
		return fmt.Sprint(endpoints), nil
	}
	main := "dnsName:" + daemontest.Main + " "
	eventually(t, time.Minute, "the leader writes the main name into east's DNSEndpoint", func() (bool, string) {
		got, err := names()
		return err == nil && strings.Contains(got, main), fmt.Sprint(got, err)
	})
	w.Daemons["west"].Stop()
	w.Daemons["witness"].Stop()
	eventually(t, time.Minute, "east, without the majority, takes the main name out", func() (bool, string) {
		got, err := names()
		return err == nil && !strings.Contains(got, main) && strings.Contains(got, "dnsName:east."+daemontest.Main), fmt.Sprint(got, err)
	})
}
