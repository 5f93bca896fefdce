package fleetsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cmd/serve"
	"hadron.dev/hadron/internal/coord"
)

// soloFleet is a one-daemon fleet: a one-member etcd cluster, which has a majority
// on its own.
const soloFleet = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: solo}
spec:
  region: r1
  daemon:
    api: {address: "127.0.198.41:7443"}
    peer: {address: "127.0.198.41:2380"}
    dns: {address: "127.0.198.41:5353"}
`

// runServe runs `hadron serve` with args, its output and log in out.
func runServe(ctx context.Context, out *syncBuffer, args ...string) error {
	cmd := serve.Command()
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

func testServe(t *testing.T, kubeconfig, dir string, kubectl func(args ...string) string) {
	pkiDir := filepath.Join(dir, "pki")
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("usage", func(t *testing.T) {
		var ue *cli.UsageError
		if err := runServe(ctx, &out, "--site", "solo", "-f", "fleet.yaml", "--fleet-from-cluster", "--kubeconfig", kubeconfig); !errors.As(err, &ue) {
			t.Errorf("-f with --fleet-from-cluster: %v, want a usage error", err)
		}
		if err := runServe(ctx, &out, "--site", "solo", "--kubeconfig", kubeconfig); !errors.As(err, &ue) {
			t.Errorf("--kubeconfig without --fleet-from-cluster: %v, want a usage error", err)
		}
	})

	if err := runServe(ctx, &out, "--init-pki", pkiDir, "--fleet-from-cluster", "--kubeconfig", kubeconfig); err != nil {
		t.Fatalf("--init-pki from the cluster's fleet: %v\n%s", err, out.String())
	}
	args := []string{"--site", "solo", "--fleet-from-cluster", "--kubeconfig", kubeconfig,
		"--pki", filepath.Join(pkiDir, "sites", "solo"), "--data-dir", filepath.Join(dir, "data")}
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runServe(dctx, &out, args...) }()
	defer func() {
		stop()
		<-done
	}()

	tlsCfg, err := coord.PKI{Dir: pkiDir}.OperatorBundle().ClientTLS(coord.OperatorName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := coord.NewClient(coord.ClientOptions{Endpoints: []string{"https://127.0.198.41:2379"}, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			select {
			case err := <-done:
				t.Fatalf("the daemon stopped waiting for %s: %v\n%s", what, err, out.String())
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 60s:\n%s", what, out.String())
			}
		}
	}
	starts := func() int { return strings.Count(out.String(), "hadron daemon of solo") }
	etcdAnswers := func(key, val string) func() bool {
		return func() bool {
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			defer ccancel()
			if val != "" {
				if _, err := c.Put(cctx, key, val); err != nil {
					return false
				}
			}
			r, err := c.Get(cctx, key)
			return err == nil && len(r.Kvs) == 1 && string(r.Kvs[0].Value) != ""
		}
	}
	waitFor(t, "daemon", func() bool { return starts() == 1 })
	waitFor(t, "etcd member", etcdAnswers("/test/fleetsource", "before"))

	t.Run("a spec edit restarts the daemon in its process", func(t *testing.T) {
		kubectl("patch", "sites", "solo", "--type=merge", "-p", `{"spec":{"region":"r2"}}`)
		waitFor(t, "restart", func() bool { return starts() == 2 })
		if !strings.Contains(out.String(), "changed=[Site/solo]") {
			t.Errorf("the log does not say what changed:\n%s", out.String())
		}
		// The member is back with its data: the key written before the restart.
		waitFor(t, "etcd member after the restart", etcdAnswers("/test/fleetsource", ""))
	})

	t.Run("an invalid edit does not", func(t *testing.T) {
		kubectl("patch", "sites", "solo", "--type=merge", "-p", `{"spec":{"daemon":{"api":{"address":"no-port"}}}}`)
		waitFor(t, "the refusal in the log", func() bool {
			return strings.Contains(out.String(), "the fleet in the cluster is invalid") && strings.Contains(out.String(), "spec.daemon.api.address")
		})
		if n := starts(); n != 2 {
			t.Errorf("%d starts after an invalid edit, want still 2", n)
		}
		// /v1/status and the metrics say it too.
		token, err := os.ReadFile(filepath.Join(pkiDir, "client", "api-token"))
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 5 * time.Second}
		get := func(path string) string {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.198.41:7443"+path, nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		var st api.Status
		if err := json.Unmarshal([]byte(get("/v1/status")), &st); err != nil || !strings.Contains(st.FleetInvalid, "spec.daemon.api.address") {
			t.Errorf("/v1/status fleetInvalid = %q (%v), want the problem", st.FleetInvalid, err)
		}
		if m := get("/metrics"); !strings.Contains(m, "hadron_fleet_invalid 1") {
			t.Errorf("metrics lack hadron_fleet_invalid 1")
		}
	})

	t.Run("an invalid fleet at start stops the daemon naming the field", func(t *testing.T) {
		stop()
		<-done
		done <- nil // for the deferred wait
		var out2 syncBuffer
		err := runServe(ctx, &out2, args...)
		if err == nil || !strings.Contains(err.Error(), "spec.daemon.api.address") || !strings.Contains(err.Error(), `Site "solo"`) {
			t.Errorf("serve with an invalid fleet: %v, want Site \"solo\" spec.daemon.api.address", err)
		}
	})
}
