package replicate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/objects"
)

func TestWorkloadsAndCapacity(t *testing.T) {
	ws := Workloads(toObjs(t,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 3, template: {spec: {
  imagePullSecrets: [{name: regcred}],
  initContainers: [{name: i, image: busybox, resources: {requests: {cpu: "2"}}}],
  containers: [{name: a, image: "registry.example.com:5000/shop/web:1", resources: {requests: {cpu: 250m, memory: 128Mi}}},
               {name: b, image: "ghcr.io/x/y@sha256:abc", resources: {requests: {cpu: 250m, memory: 64Mi}}}]}}}}`,
		`{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: shop, annotations: {hadron.dev/active-replicas: "2"}}, spec: {replicas: 0, template: {spec: {
  containers: [{name: pg, image: postgres:15, resources: {requests: {cpu: 500m, memory: 1Gi}}}]}}}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}`))
	if len(ws) != 2 {
		t.Fatalf("workloads %+v", ws)
	}
	if w := ws[0]; w.Replicas != 3 || w.PerPod.MilliCPU != 2000 || w.PerPod.Memory != 192<<20 || len(w.Images) != 3 {
		t.Errorf("web %+v", w)
	}
	if w := ws[1]; w.Replicas != 2 {
		t.Errorf("pilot-light active copy counts its recorded replicas: %+v", w)
	}
	node := func(zone, cpu, mem string, ready bool, taint bool) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}
		if taint {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
		}
		return n
	}
	// need: 3×2000m + 2×500m = 7000m; 3×192Mi + 2×1Gi.
	big := Allocatable([]corev1.Node{node("a", "4", "8Gi", true, false), node("b", "4", "8Gi", true, false), node("b", "64", "64Gi", false, false)})
	small := Allocatable([]corev1.Node{node("a", "4", "8Gi", true, false), node("b", "64", "64Gi", true, true)})
	tests := []struct {
		zones    map[string]Resources
		capacity []string
		level    Level
	}{
		{big, nil, LevelOK},
		{small, nil, LevelFail},
		{small, []string{"Deployment/kube-system/karpenter"}, LevelWarn},
	}
	for i, tc := range tests {
		f := CapacityFinding("west", ws, tc.zones, tc.capacity)
		if f.Level != tc.level || (f.Level != LevelOK && f.Action == "") {
			t.Errorf("%d: %+v", i, f)
		}
	}
	if f := CapacityFinding("west", ws, small, nil); !strings.Contains(f.Action, "3000m CPU") {
		t.Errorf("shortfall not named: %s", f.Action)
	}

	imgs := ImageFindings("west", ws, map[string]bool{})
	var regs []string
	failed := 0
	for _, f := range imgs {
		if f.Level == LevelFail {
			failed++
		}
		if f.Level == LevelWarn {
			regs = append(regs, strings.Fields(f.Message)[4])
		}
	}
	if strings.Join(regs, " ") != "docker.io: ghcr.io: registry.example.com:5000:" || failed != 1 {
		t.Errorf("image findings %v %+v", regs, imgs)
	}
}

func toObjs(t *testing.T, ys ...string) (out []*unstructured.Unstructured) {
	for _, y := range ys {
		out = append(out, obj(t, y))
	}
	return out
}

func TestRegistry(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "docker.io", "library/nginx:1": "docker.io", "quay.io/a/b": "quay.io", "localhost/x": "localhost",
		"127.0.0.1:5000/x": "127.0.0.1:5000", "registry.k8s.io/pause:3.9": "registry.k8s.io",
	} {
		if got := Registry(in); got != want {
			t.Errorf("Registry(%q) = %q, want %q", in, got, want)
		}
	}
}

func selfSigned(t *testing.T, names []string, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCertificateFindings(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	names := []string{"shop.example.com", "east.shop.example.com", "west.shop.example.com"}
	tests := []struct {
		name  string
		cert  []byte
		fails []string
	}{
		{"all names", selfSigned(t, names, now.AddDate(1, 0, 0)), nil},
		{"wildcard", selfSigned(t, []string{"shop.example.com", "*.shop.example.com"}, now.AddDate(1, 0, 0)), nil},
		{"missing site SAN", selfSigned(t, names[:2], now.AddDate(1, 0, 0)), []string{"does not cover west.shop.example.com"}},
		{"expiring", selfSigned(t, names, now.Add(48*time.Hour)), []string{"within"}},
		{"expired", selfSigned(t, names, now.Add(-time.Hour)), []string{"expired"}},
		{"garbage", []byte("not pem"), []string{"no PEM"}},
	}
	for _, tc := range tests {
		var fails []string
		for _, f := range CertificateFindings("east", "shop-tls", tc.cert, names, now, DefaultCertificateWindow) {
			if f.Level == LevelFail {
				fails = append(fails, f.Message)
				if f.Action == "" {
					t.Errorf("%s: failing finding without an action", tc.name)
				}
			}
		}
		if len(fails) != len(tc.fails) {
			t.Errorf("%s: failures %v, want %v", tc.name, fails, tc.fails)
			continue
		}
		for i := range fails {
			if !strings.Contains(fails[i], tc.fails[i]) {
				t.Errorf("%s: %q does not say %q", tc.name, fails[i], tc.fails[i])
			}
		}
	}
}

func TestParityOf(t *testing.T) {
	cs := []objects.Change{{Site: "west", Action: objects.ActionInSync}, {Site: "west", Action: objects.ActionUpdate, Diff: []string{"x"}},
		{Site: "west", Action: objects.ActionCreate}, {Site: "west", Action: objects.ActionConflict}, {Site: "west", Action: objects.ActionDelete},
		{Site: "west", Action: objects.ActionDeferred}, {Site: "west", Action: objects.ActionError}, {Site: "west", Action: objects.ActionUpdate}}
	ps := ParityOf(cs)
	want := []State{StateInSync, StateDrifted, StateMissing, StateNotOwned, StateExtra, StateDeferred, StateError, StateDrifted}
	for i, p := range ps {
		if p.State != want[i] {
			t.Errorf("%d: %s, want %s", i, p.State, want[i])
		}
	}
	if len(ps[7].Diff) == 0 {
		t.Error("drift without diff unexplained")
	}
	f := ParityFinding("west", ps)
	if f.Level != LevelFail || !strings.Contains(f.Message, "1 missing, 2 drifted, 1 not-owned, 1 extra, 1 error of 8") {
		t.Errorf("parity finding %+v", f)
	}
	if f := ParityFinding("west", ps[:1]); f.Level != LevelOK {
		t.Errorf("in-sync finding %+v", f)
	}
}
