package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/demo"
	"hadron.dev/hadron/internal/demo/demoapi"
)

func run(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, versionCommand())
	if err != nil || out != "hadron-demo dev\n" {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestServeNeedsDSNAndSite(t *testing.T) {
	t.Setenv(envDSN, "")
	t.Setenv(envSite, "")
	if _, err := run(t, serveCommand(), "--site", "east"); err == nil || !strings.Contains(err.Error(), "--dsn") {
		t.Fatalf("serve without a DSN: %v", err)
	}
	if _, err := run(t, serveCommand(), "--dsn", "postgres://x@127.0.0.1:1/db"); err == nil || !strings.Contains(err.Error(), "--site") {
		t.Fatalf("serve without a site: %v", err)
	}
}

func TestLoadJSON(t *testing.T) {
	srv := httptest.NewServer(demo.NewHandler("east", demo.NewMemStore(), nil))
	defer srv.Close()
	out, err := run(t, loadCommand(), "--url", srv.URL, "--rate", "200", "--duration", "300ms", "--client", "cli", "-o", "json")
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	var r struct {
		Client       string `json:"client"`
		Acked        int    `json:"acked"`
		Verification struct {
			Present int64   `json:"present"`
			Lost    []int64 `json:"lost"`
		} `json:"verification"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if r.Client != "cli" || r.Acked == 0 || r.Verification.Present != int64(r.Acked) || len(r.Verification.Lost) != 0 {
		t.Fatalf("report %+v", r)
	}
}

// TestLoadExitsTwoOnLoss: the service acknowledges seq 3 without storing it.
func TestLoadExitsTwoOnLoss(t *testing.T) {
	h := demo.NewHandler("east", demo.NewMemStore(), nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/write" && r.URL.Query().Get("seq") == "3" {
			_ = json.NewEncoder(w).Encode(demoapi.WriteResponse{ID: 99, Client: "lossy", Seq: 3, Site: "east"})
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	out, err := run(t, loadCommand(), "--url", srv.URL, "--rate", "100", "--duration", "100ms", "--client", "lossy")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(out, "lost seqs  [3]") {
		t.Fatalf("load with a lost write: %v\n%s", err, out)
	}
}
