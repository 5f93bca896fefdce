// Package cptest runs one site's control plane (etcd, kube-apiserver, controllers,
// kwok) for a test that needs a real API server and no whole lab. The test binary
// stands in for hadron-lab: its TestMain is Main, which hands the components' roles
// to roles.Run.
package cptest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/lab/internal/controlplane"
	"hadron.dev/hadron/lab/internal/controlplane/roles"
)

// Main is the TestMain of a package that starts control planes: the control plane
// starts its components as `<binary> kube-apiserver ...`, and the binary is the test.
func Main(m *testing.M) {
	if len(os.Args) > 1 {
		if code, ok := roles.Run(os.Args[1], os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// Start runs a control plane named name at ip, its files under dir, until the test
// ends, and returns its kubeconfig's path. Its components log to dir/site.log.
func Start(t testing.TB, name, ip, dir string) string {
	t.Helper()
	logFile, err := os.Create(filepath.Join(dir, "site.log"))
	if err != nil {
		t.Fatal(err)
	}
	region := "test-" + name + "-1"
	cfg := controlplane.Config{Name: name, Region: region, Zones: []string{region + "a"}, NodesPerZone: 1,
		IP: ip, Dir: filepath.Join(dir, "site"), Binary: os.Args[0],
		Log: slog.New(slog.NewTextHandler(logFile, nil)), ReadyTimeout: 5 * time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	errc, done := make(chan error, 1), make(chan struct{})
	go func() { errc <- controlplane.Run(ctx, cfg); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		logFile.Close()
	})
	deadline := time.Now().Add(6 * time.Minute)
	for {
		if _, err := os.Stat(controlplane.ReadyPath(cfg.Dir)); err == nil {
			return controlplane.KubeconfigPath(cfg.Dir)
		}
		select {
		case err := <-errc:
			t.Fatalf("control plane: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("control plane not ready after 6m")
		}
	}
}

// CRDNames are hadron's custom resource definitions, as `kubectl wait` names them.
var CRDNames = []string{"crd/sites.hadron.dev", "crd/applications.hadron.dev", "crd/mirrorsets.hadron.dev", "crd/dnsproviders.hadron.dev"}

// InstallCRDs applies the CRDs in dir (config/crd) to the cluster of kubeconfig with
// kubectl and waits until the API server serves them.
func InstallCRDs(t testing.TB, kubeconfig, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"apply", "--server-side", "-f", dir},
		append([]string{"wait", "--for", "condition=Established", "--timeout", "60s"}, CRDNames...),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
