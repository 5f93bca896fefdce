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

// TestDNSEndpointSync runs `hadron dns sync --provider dnsendpoint` against a real
// kube-apiserver: the objects appear with hadron's owner labels, a second sync plans
// nothing, and an object of the same name that hadron did not write stays untouched.
func TestDNSEndpointSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	hadron := binary(t, "hadron", "HADRON_BINARY")
	dir := t.TempDir()
	cfg := controlplane.Config{Name: "dnse2e", Region: "test-1", Zones: []string{"test-1a"}, NodesPerZone: 1,
		IP: "127.0.11.1", Dir: dir, Binary: binary(t, "hadron-lab", "HADRON_LAB_BINARY"),
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
	eps := dyn.Resource(dnsEndpointGVR).Namespace("default")
	eventually(t, time.Minute, "DNSEndpoint served", func() (bool, string) {
		_, err := eps.List(ctx, metav1.ListOptions{})
		return err == nil, fmt.Sprint(err)
	})
	// Someone else's object where hadron would put blog's records.
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
		"metadata": map[string]any{"name": "hadron-blog", "namespace": "default"},
		"spec": map[string]any{"endpoints": []any{map[string]any{
			"dnsName": "blog.gslb.example.com", "recordType": "A", "targets": []any{"203.0.113.9"}}}},
	}}
	foreign, err = eps.Create(ctx, foreign, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(fmt.Sprintf(dnsFleet, controlplane.KubeconfigPath(dir))), 0o644); err != nil {
		t.Fatal(err)
	}
	sync := func(extra ...string) string {
		t.Helper()
		args := append([]string{"dns", "sync", "-f", fleetFile, "--provider", "dnsendpoint", "--site", "east", "--owner", "east"}, extra...)
		cctx, ccancel := context.WithTimeout(ctx, time.Minute)
		defer ccancel()
		out, err := exec.CommandContext(cctx, hadron, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("hadron %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

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
}
