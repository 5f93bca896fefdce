package manifests_test

import (
	"os"
	"path/filepath"
	"testing"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
)

// Manifests are outside input (kubectl get output, files from anyone): import must
// never panic, and whatever it accepts must export to text that imports to the same.
func FuzzImport(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "examples", "fleet.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: hadron.dev/v1alpha1\n  kind: Site\n  metadata: {name: a}\n  spec: {region: r}\n"))
	f.Add([]byte("kind: List\nitems: [1, [2], {kind: List, items: []}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, err := manifests.ExpandLists([]fleet.Source{{Name: "in.yaml", Data: data}})
		if err != nil {
			return
		}
		fl, err := manifests.Read(srcs...)
		if err != nil {
			return
		}
		out, err := manifests.Write(fl)
		if err != nil {
			t.Fatalf("accepted but cannot write: %v", err)
		}
		back, err := manifests.Read(fleet.Source{Name: "out.yaml", Data: out})
		if err != nil {
			t.Fatalf("export of an accepted input is refused: %v\n%s", err, out)
		}
		again, err := manifests.Write(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("export not stable: %v\n%s\n%s", err, out, again)
		}
	})
}
