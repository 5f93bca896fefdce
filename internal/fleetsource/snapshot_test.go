package fleetsource

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
	"hadron.dev/hadron/internal/site"
)

var exampleFleet = filepath.Join("..", "..", "examples", "fleet.yaml")

// objects reads the example fleet as the API server would hand it out, in reverse
// order (Build must not depend on the list order).
func objects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := site.ReadManifests(exampleFleet)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(objs)-1; i < j; i, j = i+1, j-1 {
		objs[i], objs[j] = objs[j], objs[i]
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func TestBuildIsTheFleetOfTheFile(t *testing.T) {
	snap, err := Build(objects(t))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := fleet.ReadSources(exampleFleet)
	if err != nil {
		t.Fatal(err)
	}
	f, err := manifests.Read(srcs...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifests.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(snap.Canonical) != string(want) {
		t.Errorf("canonical form differs from the exported file:\n%s\nwant\n%s", snap.Canonical, want)
	}
	if snap.Fleet.Application("shop") == nil || len(snap.Fleet.Sites) != len(f.Sites) {
		t.Errorf("fleet lacks the file's objects: %+v", snap.Fleet)
	}
	// The daemon's fleet has its defaults; the canonical form has none.
	loaded, err := fleet.Load(exampleFleet)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Fleet.Application("shop").Spec, loaded.Application("shop").Spec) {
		t.Errorf("shop's spec differs from fleet.Load's (defaults?)")
	}
}

func TestBuildIgnoresWhatIsNotTheFleet(t *testing.T) {
	base, err := Build(objects(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(o *unstructured.Unstructured)
		same   bool
		change string
	}{
		{"status", func(o *unstructured.Unstructured) {
			o.Object["status"] = map[string]any{"activeSite": "west"}
		}, true, ""},
		{"server metadata", func(o *unstructured.Unstructured) {
			o.SetResourceVersion("42")
			o.SetGeneration(7)
			o.SetUID("u-1")
			o.SetAnnotations(map[string]string{lastApplied: "{}"})
		}, true, ""},
		{"spec", func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(30), "spec", "dns", "ttl")
		}, false, "Application/shop"},
		{"label", func(o *unstructured.Unstructured) {
			o.SetLabels(map[string]string{"team": "shop"})
		}, false, "Application/shop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := objects(t)
			tc.edit(find(objs, "Application", "shop"))
			snap, err := Build(objs)
			if err != nil {
				t.Fatal(err)
			}
			if got := snap.Hash == base.Hash; got != tc.same {
				t.Errorf("same hash = %v, want %v", got, tc.same)
			}
			c := Diff(base, snap)
			if tc.same && !c.Empty() {
				t.Errorf("diff %+v, want none", c)
			}
			if !tc.same && (len(c.Changed) != 1 || c.Changed[0] != tc.change) {
				t.Errorf("diff %+v, want %s changed", c, tc.change)
			}
		})
	}
}

func TestBuildRefusesNamingTheField(t *testing.T) {
	objs := objects(t)
	_ = unstructured.SetNestedField(find(objs, "Application", "shop").Object, "mars", "spec", "policy", "activeSite")
	_, err := Build(objs)
	if err == nil {
		t.Fatal("an active site that does not exist was accepted")
	}
	p := Problems(err)
	found := false
	for _, fe := range p["Application/shop"] {
		found = found || fe.Path == "spec.policy.activeSite"
	}
	if !found {
		t.Fatalf("problems %+v, want Application/shop spec.policy.activeSite", p)
	}
}

func TestDiffAddedRemoved(t *testing.T) {
	old := Snapshot{Objects: map[string]string{"Site/a": "1", "Site/b": "2", "Application/x": "3"}}
	next := Snapshot{Objects: map[string]string{"Site/a": "1", "Site/c": "4", "Application/x": "5"}}
	got := Diff(old, next)
	want := Change{Added: []string{"Site/c"}, Removed: []string{"Site/b"}, Changed: []string{"Application/x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
}

func TestDecide(t *testing.T) {
	bad := errors.New("Application \"shop\": spec.policy.activeSite: no such site")
	other := errors.New("Site \"east\": spec.region: required")
	for _, tc := range []struct {
		name      string
		st        State
		next      Snapshot
		err       error
		action    Action
		report    bool
		recovered bool
		want      State
	}{
		{"first valid read", State{}, Snapshot{Hash: "h1"}, nil, Apply, false, false, State{Hash: "h1"}},
		{"same fleet (status write, resync)", State{Hash: "h1"}, Snapshot{Hash: "h1"}, nil, Keep, false, false, State{Hash: "h1"}},
		{"changed fleet", State{Hash: "h1"}, Snapshot{Hash: "h2"}, nil, Apply, false, false, State{Hash: "h2"}},
		{"invalid: keep and report", State{Hash: "h1"}, Snapshot{}, bad, Refuse, true, false, State{Hash: "h1", Problem: bad.Error()}},
		{"same problem again: not reported", State{Hash: "h1", Problem: bad.Error()}, Snapshot{}, bad, Refuse, false, false, State{Hash: "h1", Problem: bad.Error()}},
		{"another problem: reported", State{Hash: "h1", Problem: bad.Error()}, Snapshot{}, other, Refuse, true, false, State{Hash: "h1", Problem: other.Error()}},
		{"fixed back to the fleet in force", State{Hash: "h1", Problem: bad.Error()}, Snapshot{Hash: "h1"}, nil, Keep, false, true, State{Hash: "h1"}},
		{"fixed to a new fleet", State{Hash: "h1", Problem: bad.Error()}, Snapshot{Hash: "h3"}, nil, Apply, false, true, State{Hash: "h3"}},
		{"invalid from the start", State{}, Snapshot{}, bad, Refuse, true, false, State{Problem: bad.Error()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.st, tc.next, tc.err)
			if d.Action != tc.action || d.Report != tc.report || d.Recovered != tc.recovered || d.Next != tc.want {
				t.Errorf("Decide = %+v, want action %s report %v recovered %v next %+v", d, tc.action, tc.report, tc.recovered, tc.want)
			}
		})
	}
}

func TestProblemsWithoutAnObject(t *testing.T) {
	p := Problems(&fleet.Errors{List: []fleet.FieldError{{Reason: "no sites"}, {Kind: "Site", Name: "east", Path: "spec.region", Reason: "required"}}})
	if len(p[""]) != 1 || len(p["Site/east"]) != 1 {
		t.Errorf("Problems = %+v", p)
	}
	if p := Problems(errors.New("boom")); !strings.Contains(p[""][0].Reason, "boom") {
		t.Errorf("a plain error: %+v", p)
	}
}
