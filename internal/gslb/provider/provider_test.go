package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/gslb/rfc2136"
	"hadron.dev/hadron/internal/gslb/rfc2136/bindtest"
)

// fleetYAML is a fleet in bindtest's zone: shop fails over, api is weighted 100/0,
// and one DNSProvider per owner.
const fleetYAML = `
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec: {region: us-east, loadBalancers: [{address: "192.0.2.10:443"}]}
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: west}
spec: {region: us-west, loadBalancers: [{address: "198.51.100.20:443"}]}
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  namespace: shop
  policy: {mode: active-passive, activeSite: east, standbySites: [west]}
  dns: {zone: example.test, name: shop.example.test}
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: api}
spec:
  namespace: api
  policy: {mode: active-passive, activeSite: east, standbySites: [west]}
  dns: {zone: example.test, name: api.example.test, strategy: weighted, weights: {east: 100, west: 0}}
---
apiVersion: hadron.dev/v1alpha1
kind: DNSProvider
metadata: {name: corp}
spec:
  type: rfc2136
  zone: example.test
  owner: %s
  applications: [%s]
  rfc2136:
    server: {address: "%s"}
    tsig: {name: %s, secretFrom: {env: TEST_TSIG}}
`

func bindFleet(t *testing.T, b *bindtest.BIND, owner, apps string) (*fleet.Fleet, *gslb.Catalog) {
	t.Helper()
	f, err := fleet.Parse(fleet.Source{Name: "fleet.yaml", Data: fmt.Appendf(nil, fleetYAML, owner, apps, b.Addr, b.KeyName)})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, cat
}

func active(site string) *gslb.State {
	st := &gslb.State{Version: 2, Apps: map[string]gslb.AppState{}}
	for _, a := range []string{"shop", "api"} {
		st.Apps[a] = gslb.AppState{Active: site}
	}
	return st
}

// TestRFC2136FollowsFailoverFencedAgainstBIND drives a real BIND 9 through a failover
// and back, with two leaders (tokens) and two fleets (owners) sharing the zone.
func TestRFC2136FollowsFailoverFencedAgainstBIND(t *testing.T) {
	b := bindtest.Start(t)
	t.Setenv("TEST_TSIG", b.Secret)
	ctx := context.Background()
	f, cat := bindFleet(t, b, "fleet-a", "shop, api")
	mk := func() Provider {
		p, err := FromFleet(ctx, f, cat, "us-east")
		if err != nil {
			t.Fatal(err)
		}
		return p[0]
	}
	leader1, leader2 := mk(), mk()
	answer := func(name string) []string {
		t.Helper()
		got, err := Answers(ctx, b.Addr, name)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	expect := func(name string, want ...string) {
		t.Helper()
		if got := answer(name); !slices.Equal(got, want) {
			t.Errorf("%s answers %v, want %v", name, got, want)
		}
	}

	// The first leader writes the policy's answers; the foreign west.shop record is
	// reported as a conflict and left alone.
	res, err := leader1.Sync(ctx, active(""), 10, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plans) != 1 || len(res.Plans[0].Conflicts) != 1 || !res.Plans[0].Applied {
		t.Fatalf("first sync: %+v", res)
	}
	expect("shop.example.test", "192.0.2.10")
	expect("api.example.test", "192.0.2.10")
	expect("west.shop.example.test", "203.0.113.10")
	expect("east.shop.example.test", "192.0.2.10")

	// Failover: both names move to west (api's weights 100/0 become 0/100), and
	// Verify agrees.
	if _, err := leader1.Sync(ctx, active("west"), 10, false); err != nil {
		t.Fatal(err)
	}
	expect("shop.example.test", "198.51.100.20")
	expect("api.example.test", "198.51.100.20")
	name, want := MainAnswer(cat, active("west"), "shop")
	if _, err := Verify(ctx, leader1, name, want); err != nil {
		t.Errorf("verify after failover: %v", err)
	}
	if _, err := Verify(ctx, leader1, name, []string{"192.0.2.10"}); err == nil {
		t.Error("verify of the old site passed")
	}

	// A new leader (token 11) fails back; the deposed one's late write is refused and
	// changes nothing.
	if _, err := leader2.Sync(ctx, active("east"), 11, false); err != nil {
		t.Fatal(err)
	}
	if _, err := leader1.Sync(ctx, active("west"), 10, false); !errors.Is(err, recordplan.ErrStale) {
		t.Fatalf("deposed leader's sync: %v, want ErrStale", err)
	}
	expect("shop.example.test", "192.0.2.10")
	expect("api.example.test", "192.0.2.10")

	// The race: a leader reads at fence 11, a newer one (12) writes, then the first
	// writes from its read. The server refuses it on the fence's prerequisite.
	client, err := rfc2136.New(rfc2136.Config{Server: b.Addr, Zone: "example.test", KeyName: b.KeyName, KeySecret: b.Secret})
	if err != nil {
		t.Fatal(err)
	}
	z, err := client.ReadZone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if z.Fences["fleet-a"] != 11 {
		t.Fatalf("fence = %v, want fleet-a at 11", z.Fences)
	}
	stale := recordplan.Make("fleet-a", z.Sets, leader2.(*RFC2136).Desired(active("west")))
	if _, err := leader2.Sync(ctx, active("east"), 12, false); err != nil {
		t.Fatal(err)
	}
	err = client.ApplyFenced(ctx, stale, 11, 11)
	var rc *rfc2136.RcodeError
	if !errors.As(err, &rc) || !rc.PrerequisiteFailed() {
		t.Fatalf("racing write from fence 11 after 12 wrote: %v, want a failed prerequisite", err)
	}
	expect("shop.example.test", "192.0.2.10")

	// A second fleet sharing the zone: it writes its own name, never the first
	// fleet's, and the first fleet's next sync leaves the second's records alone.
	fb, catB := bindFleet(t, b, "fleet-b", "shop")
	other, err := FromFleet(ctx, fb, catB, "us-east")
	if err != nil {
		t.Fatal(err)
	}
	res, err = other[0].Sync(ctx, active("west"), 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Plans[0].Conflicts); n < 2 {
		t.Errorf("second owner wanting the first's names: %d conflicts, want shop and east.shop: %+v", n, res.Plans[0])
	}
	expect("shop.example.test", "192.0.2.10")
	if _, err := leader2.Sync(ctx, active("east"), 12, false); err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetQuestion("_hadron-fence.fleet-b.example.test.", dns.TypeTXT)
	r, err := dns.Exchange(m, b.Addr)
	if err != nil || len(r.Answer) != 1 {
		t.Errorf("fleet-b's fence record is gone after fleet-a's sync: %v %v", r, err)
	}
}
