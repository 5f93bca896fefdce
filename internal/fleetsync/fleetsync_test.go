package fleetsync

import "testing"

func TestDecide(t *testing.T) {
	pub := func(h string) *Published { return &Published{Hash: h} }
	for _, tc := range []struct {
		name            string
		cluster, agreed string
		pub             *Published
		want            Step
	}{
		{"nothing published: the first daemon seeds it", "h1", "", nil, Publish},
		{"cluster holds the published fleet", "h1", "", pub("h1"), InSync},
		{"cluster holds it, agreed before", "h1", "h1", pub("h1"), InSync},
		{"a person's edit here", "h2", "h1", pub("h1"), Publish},
		{"another site's edit", "h1", "h1", pub("h3"), Adopt},
		{"both edited: the published wins", "h2", "h1", pub("h3"), Adopt},
		{"at start, differing: the others' agreement wins", "h2", "", pub("h3"), Adopt},
		{"halfway through adopting (a partial fleet read)", "h-mid", "h1", pub("h3"), Adopt},
		{"an empty or invalid cluster adopts", "", "", pub("h3"), Adopt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.cluster, tc.agreed, tc.pub); got != tc.want {
				t.Errorf("Decide(%q, %q, %+v) = %s, want %s", tc.cluster, tc.agreed, tc.pub, got, tc.want)
			}
		})
	}
}

func TestParseAndDecode(t *testing.T) {
	objs, err := parse("apiVersion: hadron.dev/v1alpha1\nkind: Site\nmetadata: {name: a}\nspec: {region: r}\n---\napiVersion: hadron.dev/v1alpha1\nkind: Site\nmetadata: {name: b}\nspec: {region: r}\n")
	if err != nil || len(objs) != 2 || objs[1].GetName() != "b" {
		t.Fatalf("parse: %v %v", objs, err)
	}
	p, err := decode([]byte(`{"hash":"h","site":"east","fleet":"x"}`), 7)
	if err != nil || p.Hash != "h" || p.Site != "east" || p.Revision != 7 {
		t.Fatalf("decode: %+v %v", p, err)
	}
	if _, err := decode([]byte("{"), 1); err == nil {
		t.Error("decode of a broken value succeeded")
	}
}
