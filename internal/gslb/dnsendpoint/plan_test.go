package dnsendpoint

import (
	"context"
	"errors"
	"testing"

	"hadron.dev/hadron/internal/gslb/recordplan"
)

func rec(name, typ string, targets ...string) recordplan.Record {
	return recordplan.Record{Name: name, Type: typ, TTL: 10, Targets: targets}
}

func TestMakePlan(t *testing.T) {
	current := []Object{
		{Name: "hadron-shop", Owner: "east", ResourceVersion: "5", Endpoints: []recordplan.Record{rec("shop.x.", "A", "192.0.2.1")}},
		{Name: "hadron-api", Owner: "east", ResourceVersion: "6", Endpoints: []recordplan.Record{rec("api.x.", "A", "192.0.2.2")}},
		{Name: "hadron-old", Owner: "east", ResourceVersion: "7"},
		{Name: "hadron-blog", ResourceVersion: "8"},               // someone else's object
		{Name: "hadron-web", Owner: "west", ResourceVersion: "9"}, // another owner's
		{Name: "mine-not", ResourceVersion: "10"},
	}
	desired := map[string][]recordplan.Record{
		"hadron-shop": {rec("shop.x.", "A", "198.51.100.1")},
		"hadron-api":  {rec("api.x.", "A", "192.0.2.2")},
		"hadron-blog": {rec("blog.x.", "A", "192.0.2.3")},
		"hadron-web":  {rec("web.x.", "A", "192.0.2.4")},
		"hadron-new":  {rec("new.x.", "CNAME", "lb.example.net.")},
	}
	got := MakePlan("east", "dns", current, desired).String()
	want := `+ DNSEndpoint dns/hadron-new
    new.x. 10 CNAME lb.example.net.
~ DNSEndpoint dns/hadron-shop
    shop.x. 10 A 198.51.100.1
- DNSEndpoint dns/hadron-old
! DNSEndpoint dns/hadron-blog exists, owned by nobody hadron knows: left alone
! DNSEndpoint dns/hadron-web exists, owned by west: left alone
`
	if got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
	p := MakePlan("east", "dns", current, desired)
	for _, c := range p.Changes {
		if c.Action != recordplan.Create && c.ResourceVersion == "" {
			t.Errorf("%s %s carries no resource version", c.Action, c.Name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	weighted := rec("shop.x.", "A", "192.0.2.3")
	weighted.SetID, weighted.Weight = "west", 0
	recs := []recordplan.Record{rec("shop.x.", "A", "192.0.2.1", "192.0.2.2"), rec("www.x.", "CNAME", "lb.example.net."), weighted}
	u := toUnstructured("dns", "hadron-shop", "east", recs, "", 42)
	o, err := fromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	if o.Owner != "east" || o.Fence != 42 || !sameRecords(o.Endpoints, recs) {
		t.Fatalf("round trip: %+v", o)
	}
}

func TestFences(t *testing.T) {
	a := rec("a.x.", "A", "192.0.2.1")
	current := []Object{
		{Name: "hadron-a", Owner: "east", Endpoints: []recordplan.Record{a}, ResourceVersion: "1", Fence: 7},
		{Name: "hadron-b", Owner: "east", Endpoints: []recordplan.Record{a}, ResourceVersion: "2", Fence: 9},
		{Name: "other", Owner: "west", Endpoints: []recordplan.Record{a}, ResourceVersion: "3", Fence: 50},
	}
	if got := Held("east", current); got != 9 {
		t.Errorf("Held = %d, want 9 (another owner's fence does not count)", got)
	}
	p := MakePlan("east", "dns", current, map[string][]recordplan.Record{"hadron-a": {a}, "hadron-b": {a}})
	if !p.Empty() {
		t.Fatalf("plan: %s", p)
	}
	p = Refence(p, current, 9)
	if len(p.Changes) != 1 || p.Changes[0].Name != "hadron-a" || p.Changes[0].ResourceVersion != "1" {
		t.Fatalf("refence at 9: %+v", p.Changes)
	}
	if err := (&Provider{}).ApplyFenced(context.Background(), p, 9, 8); !errors.Is(err, recordplan.ErrStale) {
		t.Fatalf("a lower token than held: %v, want ErrStale", err)
	}
}

func TestScrubPlan(t *testing.T) {
	main := func(name string) bool { return name == "shop.x." }
	weighted := rec("shop.x.", "A", "192.0.2.1")
	weighted.SetID, weighted.Weight = "east", 100
	tests := []struct {
		name    string
		current []Object
		want    string
		fences  map[string]int64
	}{
		{name: "main name taken out, site names and fence kept",
			current: []Object{{Name: "hadron-shop", Owner: "east", ResourceVersion: "5", Fence: 42,
				Endpoints: []recordplan.Record{rec("shop.x.", "A", "192.0.2.1"), rec("east.shop.x.", "A", "192.0.2.1")}}},
			want:   "~ DNSEndpoint dns/hadron-shop\n    east.shop.x. 10 A 192.0.2.1\n",
			fences: map[string]int64{"hadron-shop": 42}},
		{name: "weighted main records go too",
			current: []Object{{Name: "hadron-shop", Owner: "east", ResourceVersion: "5", Fence: 7,
				Endpoints: []recordplan.Record{weighted}}},
			want:   "~ DNSEndpoint dns/hadron-shop\n",
			fences: map[string]int64{"hadron-shop": 7}},
		{name: "already scrubbed: nothing",
			current: []Object{{Name: "hadron-shop", Owner: "east", ResourceVersion: "5",
				Endpoints: []recordplan.Record{rec("east.shop.x.", "A", "192.0.2.1")}}},
			want: "no changes\n"},
		{name: "other owners' and foreign objects left alone",
			current: []Object{
				{Name: "hadron-shop", Owner: "west", ResourceVersion: "5", Endpoints: []recordplan.Record{rec("shop.x.", "A", "192.0.2.1")}},
				{Name: "theirs", ResourceVersion: "6", Endpoints: []recordplan.Record{rec("shop.x.", "A", "192.0.2.9")}}},
			want: "no changes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ScrubPlan("east", "dns", tt.current, main)
			if got := p.String(); got != tt.want {
				t.Fatalf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, c := range p.Changes {
				if c.Action != recordplan.Update || c.ResourceVersion == "" {
					t.Errorf("%s %s: want an update guarded by a resource version", c.Action, c.Name)
				}
				if c.Fence != tt.fences[c.Name] {
					t.Errorf("%s keeps fence %d, want %d", c.Name, c.Fence, tt.fences[c.Name])
				}
			}
		})
	}
}
