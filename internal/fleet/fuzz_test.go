package fleet

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must return a fleet or errors,
// never panic, and a fleet it accepts must validate again after its defaults.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../../examples/fleet.yaml", "testdata/base.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: hadron.dev/v1alpha1\nkind: Site\nmetadata: {name: a}\nspec: {region: r, zones: &z [a], clientSubnets: *z}\n"))
	f.Add([]byte("---\n--- !!map\n? [a]\n: b\n"))
	// Every table case's broken fleet seeds the corpus too, so mutations start from
	// each error path.
	base, err := os.ReadFile("testdata/base.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range validationCases {
		text := string(base)
		for _, e := range tc.edits {
			if e.old == "" {
				text += "---\n" + e.new
			} else {
				text = strings.Replace(text, e.old, e.new, 1)
			}
		}
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Parse(Source{Name: "fuzz.yaml", Data: data})
		if err != nil {
			if _, ok := AsErrors(err); !ok {
				t.Fatalf("Parse returned %T, want *Errors: %v", err, err)
			}
			return
		}
		if err := fl.Validate(); err != nil {
			t.Fatalf("accepted fleet fails validation after defaults: %v", err)
		}
	})
}
