package recordplan

import (
	"strings"
	"testing"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

func rec(name, typ string, ttl uint32, targets ...string) Record {
	return Record{Name: name, Type: typ, TTL: ttl, Targets: targets}
}

func TestMake(t *testing.T) {
	current := []Existing{
		{Record: rec("shop.x.", "A", 10, "192.0.2.1"), Owner: "east"},      // ours, changes
		{Record: rec("east.shop.x.", "A", 10, "192.0.2.1"), Owner: "east"}, // ours, same
		{Record: rec("old.x.", "A", 10, "192.0.2.9"), Owner: "east"},       // ours, not wanted
		{Record: rec("west.shop.x.", "A", 10, "203.0.113.1")},              // foreign, wanted
		{Record: rec("mail.x.", "A", 300, "203.0.113.2")},                  // foreign, not wanted
		{Record: rec("api.x.", "A", 10, "192.0.2.7"), Owner: "west"},       // another owner's
	}
	desired := []Record{
		rec("shop.x.", "A", 10, "198.51.100.1"),
		rec("east.shop.x.", "A", 10, "192.0.2.1"),
		rec("west.shop.x.", "A", 10, "198.51.100.1"),
		rec("api.x.", "A", 10, "192.0.2.8"),
		rec("new.x.", "AAAA", 10, "2001:db8::1"),
	}
	got := Make("east", current, desired).String()
	want := `+ new.x. 10 AAAA 2001:db8::1
- old.x. 10 A 192.0.2.9
~ shop.x. 10 A 198.51.100.1 (was 192.0.2.1)
! west.shop.x. A exists, owned by nobody hadron knows: left alone
! api.x. A exists, owned by west: left alone
`
	if got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
	if p := Make("east", []Existing{{Record: rec("a.x.", "A", 10, "192.0.2.1"), Owner: "east"}}, []Record{rec("a.x.", "A", 10, "192.0.2.1")}); !p.Empty() {
		t.Fatalf("plan of an up-to-date zone: %s", p)
	}
}

func TestDesired(t *testing.T) {
	f, err := fleet.Load("../testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	st := &gslb.State{Apps: map[string]gslb.AppState{"shop": {Health: map[string]probe.Verdict{"east": probe.Down}}}}
	var lines []string
	for _, r := range Desired(cat, st, "gslb.example.com") {
		if strings.Contains(r.Name, "shop") || strings.HasPrefix(r.Name, "api") {
			lines = append(lines, r.String())
		}
	}
	want := `api.gslb.example.com. 30 A 192.0.2.10,198.51.100.20
api.gslb.example.com. 30 AAAA 2001:db8::10
east.shop.gslb.example.com. 10 A 192.0.2.10
east.shop.gslb.example.com. 10 AAAA 2001:db8::10
shop.gslb.example.com. 10 A 198.51.100.20
west.shop.gslb.example.com. 10 A 198.51.100.20`
	if got := strings.Join(lines, "\n"); got != want {
		t.Fatalf("desired:\n%s\nwant:\n%s", got, want)
	}
	other := Desired(cat, st, "other.example.org")
	if len(other) == 0 || other[len(other)-1].String() != "www-cloud.other.example.org. 10 CNAME lb-1.cloud.example.net." {
		t.Fatalf("other zone: %v", other)
	}
}
