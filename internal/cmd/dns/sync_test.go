package dns

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb/rfc2136/bindtest"
)

const syncFleet = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec:
  region: us-east
  loadBalancers: [{address: "192.0.2.10:443"}]
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: west}
spec:
  region: us-west
  loadBalancers: [{address: "198.51.100.20:443"}]
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  namespace: shop
  policy: {mode: active-passive, activeSite: east, standbySites: [west]}
  dns: {zone: example.test, name: shop.example.test}
`

func TestSyncRFC2136(t *testing.T) {
	b := bindtest.Start(t)
	dir := t.TempDir()
	fleetFile, secretFile := filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "tsig.b64")
	os.WriteFile(fleetFile, []byte(syncFleet), 0o644)
	os.WriteFile(secretFile, []byte(b.Secret+"\n"), 0o600)
	run := func(extra ...string) string {
		t.Helper()
		cmd := Command()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"sync", "-f", fleetFile, "--provider", "rfc2136", "--server", b.Addr, "--zone", "example.test",
			"--tsig-key", b.KeyName, "--tsig-secret-file", secretFile, "--owner", "east"}, extra...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("sync: %v\n%s", err, out.String())
		}
		if strings.Contains(out.String(), b.Secret) {
			t.Fatal("the TSIG secret was printed")
		}
		return out.String()
	}
	out := run("--dry-run")
	for _, want := range []string{"+ shop.example.test. 10 A 192.0.2.10", "+ east.shop.example.test. 10 A 192.0.2.10",
		"! west.shop.example.test. A exists, owned by nobody hadron knows: left alone"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run plan lacks %q:\n%s", want, out)
		}
	}
	if got := b.Lookup(t, "shop.example.test.", mdns.TypeA); len(got) != 0 {
		t.Fatalf("--dry-run wrote %v", got)
	}
	out = run()
	if !strings.Contains(out, "applied 2 changes") {
		t.Fatalf("sync output:\n%s", out)
	}
	if got := b.Lookup(t, "shop.example.test.", mdns.TypeA); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("shop A = %v", got)
	}
	if out := run(); !strings.Contains(out, "no changes") {
		t.Fatalf("second sync:\n%s", out)
	}
}
