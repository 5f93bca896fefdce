package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

// A lab with light applications writes a fleet file that hadron's own loader (what
// `hadron validate` runs) accepts, with every application its own name and path.
func TestFleetWithLightApps(t *testing.T) {
	for _, n := range []int{0, 1, 10, MaxApps} {
		dir := t.TempDir()
		c := Default()
		c.Apps = n
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		b, err := c.FleetYAML(Paths{Kubeconfig: filepath.Join(dir, "kubeconfig"), PasswordFile: filepath.Join(dir, "pg", "password"), PostgresDir: filepath.Join(dir, "pg")})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "fleet.yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := fleet.Load(p)
		if err != nil {
			t.Fatalf("apps %d: lab fleet does not load: %v", n, err)
		}
		if len(f.Applications) != n+1 {
			t.Fatalf("apps %d: fleet has %d applications, want %d", n, len(f.Applications), n+1)
		}
		if n == 0 {
			continue
		}
		last := AppName(n)
		a := f.Application(last)
		if a == nil {
			t.Fatalf("apps %d: no application %s", n, last)
		}
		if a.Spec.Namespace != last || a.Spec.DNS.Name != last+".gslb.example.com" || a.Spec.Health.Path != "/apps/"+last+"/healthz" {
			t.Errorf("%s: namespace %s, name %s, path %s", last, a.Spec.Namespace, a.Spec.DNS.Name, a.Spec.Health.Path)
		}
		pol := a.Spec.Policy
		if pol.ActiveSite != "east" || len(pol.StandbySites) != 1 || pol.StandbySites[0] != "west" ||
			pol.Standby != v1alpha1.StandbyPilotLight || pol.AutomaticFailover == nil || !pol.AutomaticFailover.Enabled || a.Spec.Data != nil {
			t.Errorf("%s: policy %+v, data %+v", last, pol, a.Spec.Data)
		}
	}
}

func TestAppOfPath(t *testing.T) {
	tests := []struct {
		path, app string
		ok        bool
	}{
		{"/apps/app-001/healthz", "app-001", true},
		{"/apps/app-042", "app-042", true},
		{"/apps/app-042/", "app-042", true},
		{"/apps/", "", false},
		{"/apps", "", false},
		{"/healthz", "", false},
		{"/", "", false},
		{"/appsx/app-001/healthz", "", false},
	}
	for _, tt := range tests {
		app, ok := AppOfPath(tt.path)
		if app != tt.app || ok != tt.ok {
			t.Errorf("AppOfPath(%q) = %q, %v; want %q, %v", tt.path, app, ok, tt.app, tt.ok)
		}
	}
	if got := AppHealthPath(AppName(7)); got != "/apps/app-007/healthz" {
		t.Errorf("AppHealthPath = %s", got)
	}
}

// Every light application's manifests parse, count what was asked for, and carry the
// selector label (what replication copies) and, on the Deployment, the lab's label.
func TestAppManifests(t *testing.T) {
	for _, n := range []int{0, 3, 200} {
		docs := strings.Split(string(AppManifests("app-007", n)), "\n---\n")
		want := max(n, MinObjectsPerApp)
		if len(docs) != want {
			t.Fatalf("objects %d: %d documents, want %d", n, len(docs), want)
		}
		for i, d := range docs {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
				t.Fatalf("document %d: %v\n%s", i, err, d)
			}
			if u.GetLabels()[partOfLabel] != "app-007" {
				t.Errorf("%s %s: labels %v", u.GetKind(), u.GetName(), u.GetLabels())
			}
			if u.GetKind() != "Namespace" && u.GetNamespace() != "app-007" {
				t.Errorf("%s %s: namespace %q", u.GetKind(), u.GetName(), u.GetNamespace())
			}
			if u.GetKind() == "Deployment" {
				if u.GetLabels()[LightAppLabel] != "app-007" {
					t.Errorf("deployment labels %v", u.GetLabels())
				}
				tl, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
				if tl["app.kubernetes.io/name"] != "app-007" || tl[partOfLabel] != "app-007" {
					t.Errorf("pod template labels %v", tl)
				}
			}
		}
	}
}
