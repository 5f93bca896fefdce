// Package fleetsource_test reads the fleet from the custom resources of a real lab
// kube-apiserver (internal/fleetsource) and runs `hadron serve --fleet-from-cluster`
// against it: the lab's demo fleet read back as exported; a spec edit handed on once;
// a status write handed on never; an edit the schema accepts but the fleet's rules
// refuse kept out, with a FleetInvalid Event naming the field; and the daemon started
// from the cluster's fleet, restarted in its process when the fleet changes.
package fleetsource_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/fleetsource"
	"hadron.dev/hadron/internal/manifests"
	"hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/lab/internal/controlplane/cptest"
	"hadron.dev/hadron/lab/internal/topology"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

// siteIP is away from the lab's 127.0.1-9 ranges and the other e2e packages'; the
// daemon of the serve test listens on 127.0.198.41.
const siteIP = "127.0.198.1"

var crdDir = filepath.Join("..", "..", "..", "config", "crd")

func TestFleetFromTheCluster(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed (make deps)")
	}
	dir := t.TempDir()
	kubeconfig := cptest.Start(t, "fleetsource", siteIP, dir)
	kubectl := func(t *testing.T, stdin []byte, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cptest.InstallCRDs(t, kubeconfig, crdDir)

	t.Run("source", func(t *testing.T) {
		exported := demoManifests(t, dir)
		kubectl(t, exported, "apply", "-f", "-")
		testSource(t, kubeconfig, exported, func(args ...string) string { return kubectl(t, nil, args...) })
	})
	kubectl(t, nil, "delete", "sites,applications,mirrorsets,dnsproviders", "--all")
	t.Run("serve", func(t *testing.T) {
		kubectl(t, []byte(soloFleet), "apply", "-f", "-")
		testServe(t, kubeconfig, dir, func(args ...string) string { return kubectl(t, nil, args...) })
	})
}

func testSource(t *testing.T, kubeconfig string, exported []byte, kubectl func(args ...string) string) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := site.ConnectConfig("east", cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &fleetsource.Watcher{Conn: conn, Instance: "east", Debounce: 300 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	snap, err := w.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := manifests.Read(fleet.Source{Name: "exported.yaml", Data: exported})
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifests.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(snap.Canonical) != string(want) {
		t.Fatalf("the cluster's fleet differs from the file's:\n%s\nwant\n%s", snap.Canonical, want)
	}

	type applied struct {
		snap   fleetsource.Snapshot
		change fleetsource.Change
	}
	got := make(chan applied, 10)
	runDone := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() {
		runDone <- w.Run(rctx, func(s fleetsource.Snapshot, c fleetsource.Change) { got <- applied{s, c} })
	}()
	defer func() {
		stop()
		<-runDone
	}()
	// none waits long enough for a debounced read to have happened and says that no
	// fleet was handed on.
	none := func(t *testing.T, what string) {
		t.Helper()
		select {
		case a := <-got:
			t.Errorf("%s: a fleet was handed on: %+v", what, a.change)
		case <-time.After(3 * time.Second):
		}
	}
	none(t, "the fleet as read at the start") // the informers' first objects are the same fleet

	t.Run("a spec edit is handed on once", func(t *testing.T) {
		kubectl("patch", "applications", "shop", "--type=merge", "-p", `{"spec":{"dns":{"ttl":33}}}`)
		select {
		case a := <-got:
			if len(a.change.Changed) != 1 || a.change.Changed[0] != "Application/shop" || len(a.change.Added)+len(a.change.Removed) != 0 {
				t.Errorf("change %+v, want Application/shop changed", a.change)
			}
			if ttl := a.snap.Fleet.Application("shop").Spec.DNS.TTL; ttl == nil || *ttl != 33 {
				t.Errorf("shop's TTL in the new fleet = %v, want 33", ttl)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no fleet handed on after a spec edit")
		}
		none(t, "after the edit")
	})

	t.Run("a status write is not", func(t *testing.T) {
		kubectl("patch", "applications", "shop", "--subresource=status", "--type=merge", "-p",
			`{"status":{"activeSite":"west","conditions":[{"type":"Ready","status":"True","reason":"ActiveSiteUp","message":"up","lastTransitionTime":"2026-12-07T06:00:00Z"}]}}`)
		none(t, "a status write")
	})

	t.Run("an invalid fleet is refused with an Event naming the field", func(t *testing.T) {
		// The schema accepts any non-empty active site; the fleet's rules want one of
		// its sites.
		old := kubectl("get", "applications", "shop", "-o", "jsonpath={.spec.policy.activeSite}")
		kubectl("patch", "applications", "shop", "--type=merge", "-p", `{"spec":{"policy":{"activeSite":"mars"}}}`)
		none(t, "an invalid edit")
		if w.Problem() == "" || !strings.Contains(w.Problem(), "spec.policy.activeSite") {
			t.Errorf("the watcher's problem = %q, want spec.policy.activeSite", w.Problem())
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			list, err := conn.Kube.EventsV1().Events("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range list.Items {
				if e.Reason == fleetsource.Reason && e.Regarding.Kind == "Application" && e.Regarding.Name == "shop" &&
					e.Regarding.UID != "" && strings.Contains(e.Note, "spec.policy.activeSite") && e.Type == "Warning" {
					found = true
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no FleetInvalid event on shop naming spec.policy.activeSite: %+v", list.Items)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if out := kubectl("describe", "applications", "shop"); !strings.Contains(out, "FleetInvalid") {
			t.Errorf("kubectl describe shows no FleetInvalid:\n%s", out)
		}
		// Put back, the fleet is the one in force again: nothing to hand on.
		kubectl("patch", "applications", "shop", "--type=merge", "-p", fmt.Sprintf(`{"spec":{"policy":{"activeSite":%q}}}`, old))
		none(t, "the fleet in force again")
		if p := w.Problem(); p != "" {
			t.Errorf("problem after the fix: %q", p)
		}
	})
}

// demoManifests is the lab's demo fleet as hadron fleet export writes it.
func demoManifests(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := topology.Default().FleetYAML(topology.Paths{Kubeconfig: filepath.Join(dir, "kubeconfig"), PasswordFile: filepath.Join(dir, "pg", "password"),
		PostgresDir: filepath.Join(dir, "pg"), PostgresCerts: filepath.Join(dir, "pg-certs"), CACert: filepath.Join(dir, "ca", "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := manifests.Read(fleet.Source{Name: "lab-fleet.yaml", Data: b})
	if err != nil {
		t.Fatalf("lab fleet: %v", err)
	}
	out, err := manifests.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// syncBuffer is an output written by the daemon's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
