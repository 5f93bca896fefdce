package ingress

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"hadron.dev/hadron/lab/internal/topology"
)

func TestLightAnswer(t *testing.T) {
	ready := map[string]int32{"app-001": 2, "app-002": 0}
	of := func(app string) int32 { return ready[app] }
	tests := []struct {
		path    string
		app     string
		code    int
		handled bool
	}{
		{"/apps/app-001/healthz", "app-001", http.StatusOK, true},
		{"/apps/app-001/", "app-001", http.StatusOK, true},
		{"/apps/app-002/healthz", "app-002", http.StatusServiceUnavailable, true},
		// Not yet seen (or deleted): no ready replicas.
		{"/apps/app-003/healthz", "app-003", http.StatusServiceUnavailable, true},
		// Everything else is the demo's.
		{"/healthz", "", 0, false},
		{"/", "", 0, false},
		{"/apps/", "", 0, false},
	}
	for _, tt := range tests {
		app, code, handled := lightAnswer(tt.path, of)
		if app != tt.app || code != tt.code || handled != tt.handled {
			t.Errorf("lightAnswer(%q) = %q, %d, %v; want %q, %d, %v", tt.path, app, code, handled, tt.app, tt.code, tt.handled)
		}
	}
}

// One informer follows every light application's Deployment, in every namespace, and
// the load balancer's answers follow their ready replicas; Deployments without the lab's
// label are not the ingress's business. Against client-go's fake clientset: the lab's
// own kube-apiserver runs only in the whole-lab tests (see the report of issue 20).
func TestWatchLightFollowsDeployments(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dep := func(ns, app string, ready int32) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}, Status: appsv1.DeploymentStatus{ReadyReplicas: ready}}
		if app != "" {
			d.Labels = map[string]string{topology.LightAppLabel: app}
		}
		return d
	}
	client := fake.NewClientset(dep("app-001", "app-001", 2), dep("app-002", "app-002", 0), dep("other", "", 3))
	in := &Ingress{cfg: Config{Site: "east", LightApps: true}, log: slog.New(slog.DiscardHandler), light: map[string]int32{}}
	go in.watchLight(ctx, client)

	get := func(path string) int {
		rec := httptest.NewRecorder()
		if !in.serveLight(rec, httptest.NewRequest(http.MethodGet, path, nil)) {
			return 0
		}
		return rec.Code
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually("app-001 up", func() bool { return get("/apps/app-001/healthz") == http.StatusOK })
	if got := get("/apps/app-002/healthz"); got != http.StatusServiceUnavailable {
		t.Errorf("app-002 (0 ready) = %d", got)
	}
	if in.LightReady("other") != 0 {
		t.Error("an unlabelled Deployment was followed")
	}

	// Scaled up, app-002 answers; app-001 deleted, it does not.
	deps := client.AppsV1().Deployments
	if _, err := deps("app-002").UpdateStatus(ctx, dep("app-002", "app-002", 1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := deps("app-001").Delete(ctx, "app-001", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("app-002 up", func() bool { return get("/apps/app-002/healthz") == http.StatusOK })
	eventually("app-001 gone", func() bool { return get("/apps/app-001/healthz") == http.StatusServiceUnavailable })
}
