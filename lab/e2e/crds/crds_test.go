// Package crds_test applies hadron's generated CRDs (config/crd) to a real lab
// kube-apiserver and checks what a user of kubectl sees: the lab's demo fleet as
// custom resources, the apiserver's OpenAPI validation refusing a bad object by
// field, kubectl explain, the printer columns, the status subresource, and that
// hadron fleet import reads back what kubectl get prints; and the daemon's status
// writer (status_test.go).
package crds_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
	"hadron.dev/hadron/lab/internal/controlplane/cptest"
	"hadron.dev/hadron/lab/internal/topology"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

// siteIP is away from the lab's 127.0.1-9 ranges and the other e2e packages'.
const siteIP = "127.0.243.1"

// crdDir is the generated CRDs, from lab/e2e/crds.
var crdDir = filepath.Join("..", "..", "..", "config", "crd")

func TestCustomResourcesOnARealAPIServer(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed (make deps)")
	}
	dir := t.TempDir()
	kubeconfig := startSite(t, dir)
	kubectl := func(t *testing.T, stdin []byte, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return out.String() + errOut.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String(), nil
	}
	must := func(t *testing.T, stdin []byte, args ...string) string {
		t.Helper()
		out, err := kubectl(t, stdin, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	cptest.InstallCRDs(t, kubeconfig, crdDir)

	// The lab's demo fleet, exported as hadron fleet export does.
	exported := demoManifests(t, dir)
	must(t, exported, "apply", "-f", "-")

	t.Run("printer columns", func(t *testing.T) {
		for _, tc := range []struct {
			resource string
			header   []string
			row      []string
		}{
			{"sites", []string{"NAME", "REGION", "ROLE", "READY"}, []string{"witness", "eu-central-1", "witness"}},
			{"applications", []string{"NAME", "MODE", "ACTIVE", "READY"}, []string{"shop", "active-passive"}},
			{"mirrorsets", []string{"NAME", "ENGINE", "PRIMARY", "READY"}, []string{"shop-db", "postgres"}},
		} {
			out := must(t, nil, "get", tc.resource)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if got := strings.Fields(lines[0]); !hasPrefix(got, tc.header) {
				t.Errorf("kubectl get %s: header %q, want it to start %q", tc.resource, got, tc.header)
			}
			if !hasRow(lines[1:], tc.row) {
				t.Errorf("kubectl get %s: no row starting %q\n%s", tc.resource, tc.row, out)
			}
		}
	})

	t.Run("status subresource", func(t *testing.T) {
		// What the daemon will write: the active site and a Ready condition.
		patch := `{"status":{"activeSite":"west","conditions":[{"type":"Ready","status":"True","reason":"ActiveSiteHealthy","message":"west answers","lastTransitionTime":"2026-12-07T06:00:00Z"}],` +
			`"lastMove":{"kind":"failover","from":"east","to":"west","startedAt":"2026-12-07T05:59:00Z","finishedAt":"2026-12-07T06:00:00Z","succeeded":true,"rto":"41s","rpo":"0s"}}}`
		must(t, nil, "patch", "applications", "shop", "--subresource=status", "--type=merge", "-p", patch)
		out := must(t, nil, "get", "applications", "shop", "--no-headers")
		if got := strings.Fields(out); len(got) < 4 || got[2] != "west" || got[3] != "True" {
			t.Errorf("after the status patch: %q, want ACTIVE west and READY True", got)
		}
		// A status write through the main resource is ignored, as for any resource
		// with a status subresource: spec writers cannot fake the daemon's report.
		must(t, nil, "patch", "applications", "shop", "--type=merge", "-p", `{"status":{"activeSite":"east"}}`)
		if got := must(t, nil, "get", "applications", "shop", "-o", "jsonpath={.status.activeSite}"); got != "west" {
			t.Errorf("status.activeSite = %q after a patch of the main resource, want west", got)
		}
		// A condition with a status outside True, False, Unknown is refused.
		bad := strings.Replace(patch, `"status":"True"`, `"status":"Maybe"`, 1)
		if out, err := kubectl(t, nil, "patch", "applications", "shop", "--subresource=status", "--type=merge", "-p", bad); err == nil || !strings.Contains(out, "status.conditions[0].status") {
			t.Errorf("condition status Maybe: err %v\n%s", err, out)
		}
	})

	t.Run("validation names the field", func(t *testing.T) {
		for _, tc := range []struct {
			name, old, new, field string
		}{
			{"enum", "mode: active-passive", "mode: sideways", "spec.policy.mode"},
			{"required", "\n  engine: postgres\n", "\n", "spec.engine"},
		} {
			bad := strings.Replace(string(exported), tc.old, tc.new, 1)
			if bad == string(exported) {
				t.Fatalf("%s: the export no longer holds %q", tc.name, tc.old)
			}
			out, err := kubectl(t, []byte(bad), "apply", "-f", "-")
			if err == nil || !strings.Contains(out, tc.field) {
				t.Errorf("%s: apply of an object with a bad %s: err %v\n%s", tc.name, tc.field, err, out)
			}
			t.Logf("%s refused: %s", tc.name, lastLine(out))
		}
		ttl := "apiVersion: hadron.dev/v1alpha1\nkind: Application\nmetadata:\n  name: bad-ttl\nspec:\n  namespace: x\n  policy:\n    mode: active-passive\n    activeSite: east\n  dns:\n    zone: gslb.example.com\n    name: x.gslb.example.com\n    ttl: 0\n"
		if out, err := kubectl(t, []byte(ttl), "apply", "-f", "-"); err == nil || !strings.Contains(out, "spec.dns.ttl") {
			t.Errorf("ttl 0: err %v\n%s", err, out)
		}
	})

	t.Run("kubectl explain", func(t *testing.T) {
		out := must(t, nil, "explain", "applications.spec.policy")
		for _, want := range []string{"activeSite", "mode", "dataLoss", "automaticFailover", "which site serves"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain applications.spec.policy lacks %q:\n%s", want, out)
			}
		}
		out = must(t, nil, "explain", "mirrorsets.status.members")
		if !strings.Contains(out, "lagBytes") || !strings.Contains(out, "role") {
			t.Errorf("kubectl explain mirrorsets.status.members:\n%s", out)
		}
	})

	t.Run("the example fleet is accepted", func(t *testing.T) {
		// A valid fleet must never be refused by a CRD: the schema says no more than the
		// fleet's rules. The documented example uses most fields (TLS, backups, DNS
		// providers, replication rules); the server checks it without storing it.
		srcs, err := fleet.ReadSources(filepath.Join("..", "..", "..", "examples", "fleet.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := manifests.Read(srcs...)
		if err != nil {
			t.Fatal(err)
		}
		example, err := manifests.Write(f)
		if err != nil {
			t.Fatal(err)
		}
		must(t, example, "apply", "--dry-run=server", "-f", "-")
	})

	t.Run("import what kubectl get prints", func(t *testing.T) {
		// The status patched above and the server's metadata are dropped: the fleet
		// read back is the one applied.
		out := must(t, nil, "get", "sites,dnsproviders,mirrorsets,applications", "-o", "yaml")
		srcs, err := manifests.ExpandLists([]fleet.Source{{Name: "kubectl-get.yaml", Data: []byte(out)}})
		if err != nil {
			t.Fatal(err)
		}
		f, err := manifests.Read(srcs...)
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		back, err := manifests.Write(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, exported) {
			t.Errorf("import of kubectl get:\n%s\nwant the export\n%s", back, exported)
		}
	})

	t.Run("the daemon writes status and events", func(t *testing.T) {
		testStatusWriter(t, kubeconfig, exported, func(t *testing.T, args ...string) string { return must(t, nil, args...) })
	})
}

// demoManifests is the lab's demo fleet (its three sites, shop and shop-db) as
// hadron fleet export prints it.
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
	if f.Application("shop") == nil || f.MirrorSet("shop-db") == nil || len(f.Sites) != 3 {
		t.Fatalf("lab fleet lacks shop, shop-db or a site:\n%s", b)
	}
	out, err := manifests.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startSite runs one control plane until the test ends and returns its kubeconfig.
func startSite(t *testing.T, dir string) string {
	t.Helper()
	return cptest.Start(t, "crds", siteIP, dir)
}

// hasPrefix says whether got starts with want.
func hasPrefix(got, want []string) bool {
	if len(got) < len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func hasRow(lines []string, want []string) bool {
	for _, l := range lines {
		if hasPrefix(strings.Fields(l), want) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
