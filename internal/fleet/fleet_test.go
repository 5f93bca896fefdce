package fleet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// One run reports every problem of every file, sorted by file, document and path.
func TestAllErrorsInOneRun(t *testing.T) {
	text := applyEdits(t, baseFleet(t), []edit{
		{"activeSite: east", "activeSite: esat"},
		{"ttl: 10", "ttl: 0"},
		{"role: dr-async", "role: dr-asnyc"},
		{"  region: us-west-2\n", "  region: us-west-2\n  regoin: x\n"},
		{"- address: 192.0.2.10:443", "- address: 192.0.2.10"},
	})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), text)
	write(t, filepath.Join(dir, "b.yml"), "apiVersion: hadron.dev/v1alpha1\nkind: Application\nmetadata: {name: blog}\nspec:\n  namespace: blog\n  policy: {mode: active-passive, activeSite: north}\n")
	_, err := Load(dir)
	var fe *Errors
	if !errors.As(err, &fe) {
		t.Fatalf("Load = %v, want *Errors", err)
	}
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yml")
	want := strings.Join([]string{
		a + `: Site "east": spec.loadBalancers[0].address: "192.0.2.10" is not host:port: missing port in address`,
		a + `: Site "west": spec.regoin: unknown field (did you mean "region"?)`,
		a + `: Application "shop": spec.dns.ttl: 0 is out of range (1 to 3600 seconds)`,
		a + `: Application "shop": spec.policy.activeSite: site "esat" is not defined (did you mean "east"?)`,
		a + `: MirrorSet "shop-db": spec.members[2].role: "dr-asnyc" is not one of primary, failover, dr-async (did you mean "dr-async"?)`,
		b + `: Application "blog": spec.policy.activeSite: site "north" is not defined`,
	}, "\n")
	if err.Error() != want {
		t.Errorf("got:\n%s\nwant:\n%s", err, want)
	}
	if fe.List[1].Line != 23 || fe.List[3].Line != 50 {
		t.Errorf("lines = %d, %d; want 23, 50", fe.List[1].Line, fe.List[3].Line)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAppliesDefaults(t *testing.T) {
	text := strings.Join([]string{
		"# comment-only and empty documents are skipped",
		"---",
		"---",
		"apiVersion: hadron.dev/v1alpha1",
		"kind: Site",
		"metadata: {name: east}",
		"spec: {region: us-east-1}",
		"---",
		"apiVersion: hadron.dev/v1alpha1",
		"kind: Application",
		"metadata: {name: shop}",
		"spec:",
		"  namespace: shop",
		"  policy: {mode: active-passive, activeSite: east}",
		"  dns: {zone: example.com, name: shop.example.com}",
		"  health: {type: http}",
		"---",
		"apiVersion: hadron.dev/v1alpha1",
		"kind: MirrorSet",
		"metadata: {name: db}",
		"spec:",
		"  engine: postgres",
		"  members: [{name: m0, site: east, role: primary, address: {address: 127.0.0.1:5432}}]",
		"  credentials: {user: app}",
	}, "\n")
	f, err := Parse(Source{Name: "fleet.yaml", Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	s, a, m := f.Site("east"), f.Application("shop"), f.MirrorSet("db")
	if s.Spec.Role != v1alpha1.SiteRoleWorkload {
		t.Errorf("role = %q", s.Spec.Role)
	}
	p, d, h := a.Spec.Policy, a.Spec.DNS, a.Spec.Health
	if p.Standby != v1alpha1.StandbyPilotLight || *d.TTL != 10 || d.Strategy != v1alpha1.StrategyFailover {
		t.Errorf("policy/dns defaults: standby %q ttl %d strategy %q", p.Standby, *d.TTL, d.Strategy)
	}
	if h.Path != "/" || h.Interval.Duration != time.Second || h.Timeout.Duration != time.Second || h.Rise != 2 || h.Fall != 3 {
		t.Errorf("health defaults: %+v", h)
	}
	if !*m.Spec.Replication.Synchronous || m.Spec.Credentials.ReplicationUser != v1alpha1.DefaultReplicationUser {
		t.Errorf("mirror set defaults: %+v %+v", m.Spec.Replication, m.Spec.Credentials)
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	text := `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec: &site
  region: us-east-1
  zones: &zones [a, b]
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east2}
spec:
  <<: *site
  zones: *zones
  kubeContext: east2
`
	f, err := Parse(Source{Name: "fleet.yaml", Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Site("east2"); s.Spec.Region != "us-east-1" || len(s.Spec.Zones) != 2 || s.Spec.KubeContext != "east2" {
		t.Errorf("east2 = %+v", s.Spec)
	}
}

// Aliases that multiply (each level merging the previous one ten times) are walked
// only up to a budget, then refused: the loader must not expand 10^9 nodes.
func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: hadron.dev/v1alpha1\nkind: Site\nmetadata: {name: east}\nx0: &m0 {region: r}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &m%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*m%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("spec: *m9\n")
	_, err := Parse(Source{Name: "bomb.yaml", Data: []byte(b.String())})
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoFiles) {
		t.Errorf("empty dir: %v", err)
	}
}

// A fleet built in code is validated the same way, without file names.
func TestValidateBuiltFleet(t *testing.T) {
	f := &Fleet{Sites: []*v1alpha1.Site{{Spec: v1alpha1.SiteSpec{Region: "r"}}}}
	f.Sites[0].Name = "east"
	f.Applications = []*v1alpha1.Application{{Spec: v1alpha1.ApplicationSpec{Namespace: "x", Policy: v1alpha1.Policy{Mode: "active-passive", ActiveSite: "est"}}}}
	f.Applications[0].Name = "x"
	err := f.Validate()
	want := `Application "x": spec.policy.activeSite: site "est" is not defined (did you mean "east"?)`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

func TestExampleFleetIsValid(t *testing.T) {
	f, err := Load("../../examples/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sites) != 3 || len(f.Applications) != 1 || len(f.MirrorSets) != 1 || f.Dir != "../../examples" {
		t.Errorf("example fleet: %d sites, %d apps, %d sets, dir %s", len(f.Sites), len(f.Applications), len(f.MirrorSets), f.Dir)
	}
}

// Free-form fields (json.RawMessage patches) keep their YAML content as JSON.
func TestFreeFormValues(t *testing.T) {
	text := applyEdits(t, baseFleet(t), []edit{{"  data:\n", "  replication:\n    rules:\n    - mergePatch: {data: {REGION: us-west-2, N: 3}}\n      jsonPatch: [{op: add, path: /x, value: [true, null]}]\n  data:\n"}})
	f, err := Parse(Source{Name: "fleet.yaml", Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	rule := f.Application("shop").Spec.Replication.Rules[0]
	if got := string(rule.MergePatch); got != `{"data":{"N":3,"REGION":"us-west-2"}}` {
		t.Errorf("mergePatch = %s", got)
	}
	if got := string(rule.JSONPatch[0].Value); got != `[true,null]` {
		t.Errorf("jsonPatch value = %s", got)
	}
}
