package crwrite

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// A cluster without hadron's CRDs answers 404 for their resources: the writer skips
// it without an error, says so once at info, and writes nothing there.
func TestClusterWithoutTheCRDs(t *testing.T) {
	var writes int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writes++
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"the server could not find the requested resource"}`))
	}))
	defer srv.Close()
	conn, err := site.ConnectConfig("east", &rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet.Fleet{Sites: []*v1alpha1.Site{{ObjectMeta: metav1.ObjectMeta{Name: "east"}}}}
	var logs bytes.Buffer
	w := &Writer{Fleet: f, Instance: "east", Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Connect: func(string) (*site.Conn, error) { return conn, nil },
		Source: Source{
			Status: func(context.Context) api.Status {
				return api.Status{Apps: []api.App{{Name: "shop", Active: "east", Verdicts: map[string]string{"east": "up"}}}}
			},
			Open: func(context.Context, string) (*runbook.Record, error) { return nil, nil },
			Last: func(context.Context, string) (*runbook.Record, error) { return nil, nil },
		}}
	for range 3 {
		res, err := w.Round(context.Background())
		if err != nil || res != (Result{}) {
			t.Fatalf("round: %+v, %v; want nothing done and no error", res, err)
		}
	}
	if n := strings.Count(logs.String(), "not installed"); n != 3 || writes != 0 {
		t.Errorf("%d log lines about absent CRDs (want one per resource: applications, mirrorsets, sites), %d writes:\n%s", n, writes, logs.String())
	}
	if !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("absent CRDs not logged at info:\n%s", logs.String())
	}
}

// A cluster that refuses (RBAC without the permission) fails every round, and is
// logged once until its error changes.
func TestRefusingClusterLoggedOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"applications.hadron.dev is forbidden"}`))
	}))
	defer srv.Close()
	conn, err := site.ConnectConfig("east", &rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w := &Writer{Fleet: &fleet.Fleet{Sites: []*v1alpha1.Site{{ObjectMeta: metav1.ObjectMeta{Name: "east"}}}},
		Log:     slog.New(slog.NewTextHandler(&logs, nil)),
		Connect: func(string) (*site.Conn, error) { return conn, nil },
		Source: Source{
			Status: func(context.Context) api.Status { return api.Status{} },
			Open:   func(context.Context, string) (*runbook.Record, error) { return nil, nil },
			Last:   func(context.Context, string) (*runbook.Record, error) { return nil, nil },
		}}
	for range 3 {
		if _, err := w.Round(context.Background()); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("round: %v, want the cluster's refusal", err)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings over three refused rounds, want 1:\n%s", n, logs.String())
	}
}
