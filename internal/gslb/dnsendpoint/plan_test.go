package dnsendpoint

import (
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
	recs := []recordplan.Record{rec("shop.x.", "A", "192.0.2.1", "192.0.2.2"), rec("www.x.", "CNAME", "lb.example.net.")}
	u := toUnstructured("dns", "hadron-shop", "east", recs, "")
	o, err := fromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	if o.Owner != "east" || !sameRecords(o.Endpoints, recs) {
		t.Fatalf("round trip: %+v", o)
	}
}
