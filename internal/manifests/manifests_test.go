package manifests_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
)

func readFleet(t *testing.T, path string) []fleet.Source {
	t.Helper()
	srcs, err := fleet.ReadSources(path)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

// Export then import gives the same fleet, object for object, and the same text.
func TestRoundTrip(t *testing.T) {
	for _, path := range []string{
		filepath.Join("..", "..", "examples", "fleet.yaml"),
		filepath.Join("..", "fleet", "testdata", "base.yaml"),
	} {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			orig, err := manifests.Read(readFleet(t, path)...)
			if err != nil {
				t.Fatal(err)
			}
			exported, err := manifests.Write(orig)
			if err != nil {
				t.Fatal(err)
			}
			back, err := manifests.Read(fleet.Source{Name: "exported.yaml", Data: exported})
			if err != nil {
				t.Fatalf("importing the export: %v\n%s", err, exported)
			}
			if !sameFleet(orig, back) {
				t.Errorf("import of the export differs from the fleet\n%s", exported)
			}
			again, err := manifests.Write(back)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(exported) {
				t.Errorf("export is not stable:\nfirst\n%s\nsecond\n%s", exported, again)
			}
			if n := strings.Count(string(exported), "apiVersion: hadron.dev/v1alpha1"); n != len(orig.Sites)+len(orig.Applications)+len(orig.MirrorSets)+len(orig.DNSProviders) {
				t.Errorf("%d documents with apiVersion hadron.dev/v1alpha1, want one per object", n)
			}
		})
	}
}

// sameFleet compares what the documents say: names, labels, annotations and specs.
func sameFleet(a, b *fleet.Fleet) bool {
	type obj struct {
		Name   string
		Labels map[string]string
		Spec   any
	}
	flat := func(f *fleet.Fleet) []obj {
		var out []obj
		for _, s := range f.Sites {
			out = append(out, obj{s.Name, s.Labels, s.Spec})
		}
		for _, m := range f.MirrorSets {
			out = append(out, obj{m.Name, m.Labels, m.Spec})
		}
		for _, x := range f.Applications {
			out = append(out, obj{x.Name, x.Labels, x.Spec})
		}
		for _, p := range f.DNSProviders {
			out = append(out, obj{p.Name, p.Labels, p.Spec})
		}
		return out
	}
	return reflect.DeepEqual(flat(a), flat(b))
}

// What kubectl get -o yaml prints — a List, status, the server's metadata and
// kubectl's annotation — imports as the fleet file that was applied.
func TestImportDropsWhatTheServerAdds(t *testing.T) {
	orig, err := manifests.Read(readFleet(t, filepath.Join("..", "..", "examples", "fleet.yaml"))...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifests.Write(orig)
	if err != nil {
		t.Fatal(err)
	}
	// Wrap every document as a List item with what the API server adds.
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n")
	for _, doc := range strings.Split(string(want), "---\n") {
		doc = strings.Replace(doc, "metadata:\n", "metadata:\n  uid: 0b7a3c1e-5d0e-4c8e-9f59-6f3c3c1f2a11\n  resourceVersion: \"4711\"\n  generation: 2\n  creationTimestamp: \"2026-12-07T06:00:00Z\"\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\n", 1)
		doc += "status:\n  observedGeneration: 2\n"
		for i, line := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
			if i == 0 {
				b.WriteString("- " + line + "\n")
			} else {
				b.WriteString("  " + line + "\n")
			}
		}
	}
	srcs, err := manifests.ExpandLists([]fleet.Source{{Name: "list.yaml", Data: []byte(b.String())}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := manifests.Read(srcs...)
	if err != nil {
		t.Fatalf("%v\n%s", err, srcs[0].Data)
	}
	got, err := manifests.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("import of the List:\n%s\nwant\n%s", got, want)
	}
}

// An invalid manifest is refused by the fleet's own validation, naming the field.
func TestImportRefusesInvalidManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown mode", "mode: active-passive", "mode: sideways", "spec.policy.mode"},
		{"unknown field", "mode: active-passive", "mode: active-passive\n    modus: x", "spec.policy.modus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("examples/fleet.yaml no longer holds %q", tc.old)
			}
			bad := strings.Replace(string(data), tc.old, tc.new, 1)
			_, err := manifests.Read(fleet.Source{Name: "bad.yaml", Data: []byte(bad)})
			problems, ok := fleet.AsErrors(err)
			if !ok || len(problems) == 0 {
				t.Fatalf("invalid manifest accepted: %v", err)
			}
			if !strings.Contains(problems[0].Error(), `Application "shop": `+tc.want) {
				t.Errorf("problem %q does not name %s", problems[0].Error(), tc.want)
			}
		})
	}
}
