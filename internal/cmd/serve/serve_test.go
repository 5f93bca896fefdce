package serve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
)

const oneDaemonFleet = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: solo}
spec:
  region: r1
  daemon:
    api: {address: "127.0.220.41:7443"}
    peer: {address: "127.0.220.41:2380"}
    dns: {address: "127.0.220.41:5353"}
`

// run runs `hadron serve` with args.
func run(ctx context.Context, args ...string) (string, error) {
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestServeInitPKIAndRun(t *testing.T) {
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(oneDaemonFleet), 0o644); err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "pki")
	exec := run
	if out, err := exec(context.Background(), "-f", fleetFile, "--init-pki", pkiDir); err != nil || !strings.Contains(out, pkiDir) {
		t.Fatalf("--init-pki: %v\n%s", err, out)
	}
	for _, f := range []string{"ca.crt", "ca.key", "api-token", "sites/solo/ca.crt", "sites/solo/solo.crt", "sites/solo/solo.key",
		"sites/solo/api-token", "client/client.crt", "client/client.key"} {
		if _, err := os.Stat(filepath.Join(pkiDir, f)); err != nil {
			t.Errorf("--init-pki did not write %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(pkiDir, "sites", "solo", "ca.key")); err == nil {
		t.Error("--init-pki put the CA key in the site's bundle")
	}
	// The daemon gets its site's bundle only.
	siteDir := filepath.Join(pkiDir, "sites", "solo")
	if _, err := exec(context.Background(), "-f", fleetFile, "--pki", pkiDir); err == nil || !strings.Contains(err.Error(), "--site") {
		t.Fatalf("serve without --site: %v", err)
	}

	// A one-daemon fleet is a one-member cluster: it has a majority on its own.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := exec(ctx, "-f", fleetFile, "--site", "solo", "--pki", siteDir, "--data-dir", filepath.Join(dir, "data"))
		done <- err
	}()
	tlsCfg, err := coord.PKI{Dir: pkiDir}.OperatorBundle().ClientTLS(coord.OperatorName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := coord.NewClient(coord.ClientOptions{Endpoints: []string{"https://127.0.220.41:2379"}, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	coordtest.Eventually(t, 30*time.Second, "the daemon leads its one-member cluster", func() bool {
		qctx, qcancel := context.WithTimeout(context.Background(), time.Second)
		defer qcancel()
		tok, err := coord.Leader(qctx, c)
		return err == nil && tok.Holder == "solo"
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

// A daemon without its certificate does not make up a CA (which would split the fleet
// into daemons that do not trust each other): it stops and says what to run.
func TestServeWithoutPKISaysWhatToRun(t *testing.T) {
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(oneDaemonFleet), 0o644); err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "hadron-pki")
	_, err := run(context.Background(), "-f", fleetFile, "--site", "solo", "--pki", pkiDir, "--data-dir", filepath.Join(dir, "data"))
	if !errors.Is(err, coord.ErrNoPKI) {
		t.Fatalf("serve without PKI: %v, want ErrNoPKI", err)
	}
	for _, want := range []string{"hadron serve -f FLEET --init-pki DIR", "DIR/sites/solo/", "never DIR/ca.key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if _, err := os.Stat(pkiDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created %s: %v", pkiDir, err)
	}
}

func TestServeFleetFromClusterUsage(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--site", "solo", "-f", "fleet.yaml", "--fleet-from-cluster"}, "exclude each other"},
		{[]string{"--site", "solo", "--kubeconfig", "kubeconfig"}, "--fleet-from-cluster"},
		{[]string{"--site", "solo", "--fleet-from-cluster"}, "outside a pod needs --kubeconfig"},
	} {
		_, err := run(context.Background(), tc.args...)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %s: %v, want a usage error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
