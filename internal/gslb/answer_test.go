package gslb

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/probe"
)

func testCatalog(t testing.TB) *Catalog {
	t.Helper()
	f, err := fleet.Load("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(f, WithStatusTXT())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Without WithStatusTXT the _status names do not exist: nothing tells an outsider
// which sites are down.
func TestStatusTXTOffByDefault(t *testing.T) {
	f, err := fleet.Load("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	st := state(map[string]map[string]probe.Verdict{"shop": {"east": probe.Down, "west": probe.Up}})
	for _, qt := range []uint16{dns.TypeTXT, dns.TypeA} {
		if got := c.Answer(st, Query{Name: "_status.shop.gslb.example.com.", Type: qt}); got.Rcode != dns.RcodeNameError || len(got.Answer) != 0 {
			t.Errorf("_status.shop %s: %v, want NXDOMAIN", dns.TypeToString[qt], got)
		}
	}
	if got := c.Answer(st, Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}); len(got.Answer) != 1 {
		t.Errorf("shop A: %v, want one answer", got)
	}
}

// zone parses zone-file text (origin gslb.example.com.) into records.
func zone(t testing.TB, text string) []string {
	t.Helper()
	var out []string
	zp := dns.NewZoneParser(strings.NewReader(text), "gslb.example.com.", "golden")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("golden zone text: %v", err)
	}
	sort.Strings(out)
	return out
}

func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	sort.Strings(out)
	return out
}

func state(health map[string]map[string]probe.Verdict) *State {
	st := &State{Version: 7, Apps: map[string]AppState{}}
	for app, h := range health {
		st.Apps[app] = AppState{Health: h}
	}
	return st
}

const negSOA = "gslb.example.com. 10 IN SOA ns-east.gslb.example.com. hostmaster.gslb.example.com. 7 3600 600 86400 10"

func TestAnswerGolden(t *testing.T) {
	c := testCatalog(t)
	healthy := state(map[string]map[string]probe.Verdict{"shop": {"east": probe.Up, "west": probe.Up}})
	eastDown := state(map[string]map[string]probe.Verdict{
		"shop": {"east": probe.Down, "west": probe.Up},
		"api":  {"east": probe.Down, "west": probe.Up},
		"near": {"east": probe.Down, "west": probe.Up},
	})
	bothDown := state(map[string]map[string]probe.Verdict{"shop": {"east": probe.Down, "west": probe.Down}})
	eastUnknown := state(map[string]map[string]probe.Verdict{"shop": {"east": probe.Unknown, "west": probe.Up}})
	switched := state(nil)
	switched.Apps["shop"] = AppState{Active: "west"}
	cases := []struct {
		name       string
		st         *State
		q          Query
		rcode      int
		answer, ns string
		extra      string
		scope      uint8
	}{
		{name: "main name answers the active site", st: healthy,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}, answer: "shop 10 IN A 192.0.2.10"},
		{name: "main name AAAA", st: healthy,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeAAAA}, answer: "shop 10 IN AAAA 2001:db8::10"},
		{name: "main name fails over when the active is down", st: eastDown,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}, answer: "shop 10 IN A 198.51.100.20"},
		{name: "unknown never moves traffic", st: eastUnknown,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}, answer: "shop 10 IN A 192.0.2.10"},
		{name: "all down answers the active", st: bothDown,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}, answer: "shop 10 IN A 192.0.2.10"},
		{name: "a switchover moves the active site", st: switched,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeA}, answer: "shop 10 IN A 198.51.100.20"},
		{name: "NODATA when the site has no address of the type", st: eastDown,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeAAAA}, ns: negSOA},
		{name: "NODATA for another type", st: healthy,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeMX}, ns: negSOA},
		{name: "per-site name answers its site even when down", st: eastDown,
			q: Query{Name: "east.shop.gslb.example.com.", Type: dns.TypeA}, answer: "east.shop 10 IN A 192.0.2.10"},
		{name: "per-site name of the stand-by", st: healthy,
			q: Query{Name: "west.shop.gslb.example.com.", Type: dns.TypeA}, answer: "west.shop 10 IN A 198.51.100.20"},
		{name: "NXDOMAIN below an existing name", st: healthy,
			q: Query{Name: "nope.shop.gslb.example.com.", Type: dns.TypeA}, rcode: dns.RcodeNameError, ns: negSOA},
		{name: "NXDOMAIN in the zone", st: healthy,
			q: Query{Name: "nothing.gslb.example.com.", Type: dns.TypeA}, rcode: dns.RcodeNameError, ns: negSOA},
		{name: "REFUSED outside the zones", st: healthy,
			q: Query{Name: "example.com.", Type: dns.TypeA}, rcode: dns.RcodeRefused},
		{name: "REFUSED for the root", st: healthy,
			q: Query{Name: ".", Type: dns.TypeNS}, rcode: dns.RcodeRefused},
		{name: "apex SOA", st: healthy,
			q:      Query{Name: "gslb.example.com.", Type: dns.TypeSOA},
			answer: "@ 3600 IN SOA ns-east hostmaster 7 3600 600 86400 10"},
		{name: "apex NS with glue", st: healthy,
			q:      Query{Name: "gslb.example.com.", Type: dns.TypeNS},
			answer: "@ 3600 IN NS ns-east\n@ 3600 IN NS ns-west",
			extra:  "ns-east 3600 IN A 192.0.2.53\nns-west 3600 IN A 198.51.100.53"},
		{name: "name server address", st: healthy,
			q: Query{Name: "ns-west.gslb.example.com.", Type: dns.TypeA}, answer: "ns-west 3600 IN A 198.51.100.53"},
		{name: "ANY is minimal (RFC 8482)", st: healthy,
			q: Query{Name: "shop.gslb.example.com.", Type: dns.TypeANY}, answer: `shop 10 IN HINFO "RFC8482" ""`},
		{name: "status TXT", st: eastDown,
			q:      Query{Name: "_status.shop.gslb.example.com.", Type: dns.TypeTXT},
			answer: `_status.shop 10 IN TXT "app=shop" "strategy=failover" "answer=west" "east=down" "west=up"`},
		{name: "weighted: first of the cycle is the heaviest", st: healthy,
			q: Query{Name: "api.gslb.example.com.", Type: dns.TypeA, Seq: 0}, answer: "api 30 IN A 192.0.2.10"},
		{name: "weighted: healthy sites only", st: eastDown,
			q: Query{Name: "api.gslb.example.com.", Type: dns.TypeA, Seq: 0}, answer: "api 30 IN A 198.51.100.20"},
		{name: "round-robin rotates", st: healthy,
			q:      Query{Name: "web.gslb.example.com.", Type: dns.TypeA, Seq: 1},
			answer: "web 10 IN A 198.51.100.20\nweb 10 IN A 192.0.2.10"},
		{name: "geo: client in west's subnet", st: healthy,
			q:      Query{Name: "near.gslb.example.com.", Type: dns.TypeA, Client: netip.MustParseAddr("10.2.3.4")},
			answer: "near 10 IN A 198.51.100.20", scope: 24},
		{name: "geo: client in east's subnet", st: healthy,
			q:      Query{Name: "near.gslb.example.com.", Type: dns.TypeA, Client: netip.MustParseAddr("10.1.9.9")},
			answer: "near 10 IN A 192.0.2.10", scope: 16},
		{name: "geo: unknown client gets the failover answer", st: healthy,
			q:      Query{Name: "near.gslb.example.com.", Type: dns.TypeA, Client: netip.MustParseAddr("203.0.113.1")},
			answer: "near 10 IN A 192.0.2.10"},
		{name: "geo: nearest site down gets the failover answer", st: eastDown,
			q:      Query{Name: "near.gslb.example.com.", Type: dns.TypeA, Client: netip.MustParseAddr("10.1.9.9")},
			answer: "near 10 IN A 198.51.100.20"},
		{name: "empty non-terminal is NODATA", st: healthy,
			q: Query{Name: "_status.api.gslb.example.com.", Type: dns.TypeA}, ns: negSOA},
		{name: "load balancer by name answers CNAME", st: healthy,
			q:      Query{Name: "www-cloud.other.example.org.", Type: dns.TypeA},
			answer: "www-cloud.other.example.org. 10 IN CNAME lb-1.cloud.example.net."},
		{name: "every daemon serves every zone", st: healthy,
			q:      Query{Name: "other.example.org.", Type: dns.TypeNS},
			answer: "other.example.org. 3600 IN NS ns-east.other.example.org.\nother.example.org. 3600 IN NS ns-west.other.example.org.",
			extra:  "ns-east.other.example.org. 3600 IN A 192.0.2.53\nns-west.other.example.org. 3600 IN A 198.51.100.53"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Answer(tc.st, tc.q)
			if got.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s (%v)", dns.RcodeToString[got.Rcode], dns.RcodeToString[tc.rcode], got)
			}
			for _, sec := range []struct {
				name string
				got  []dns.RR
				want string
			}{{"answer", got.Answer, tc.answer}, {"authority", got.Ns, tc.ns}, {"additional", got.Extra, tc.extra}} {
				g, w := rrStrings(sec.got), zone(t, sec.want)
				if strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("%s:\n got %q\nwant %q", sec.name, g, w)
				}
			}
			if got.Scope != tc.scope {
				t.Errorf("scope %d, want %d", got.Scope, tc.scope)
			}
		})
	}
}

func TestWeightedShare(t *testing.T) {
	c := testCatalog(t)
	st := state(nil)
	count := map[string]int{}
	for seq := uint64(0); seq < 400; seq++ {
		r := c.Answer(st, Query{Name: "api.gslb.example.com.", Type: dns.TypeA, Seq: seq})
		count[r.Answer[0].(*dns.A).A.String()]++
	}
	if count["192.0.2.10"] != 300 || count["198.51.100.20"] != 100 {
		t.Fatalf("shares %v, want 300 east / 100 west", count)
	}
}

func TestWeightedSchedule(t *testing.T) {
	cases := []struct {
		sites   []int
		weights []int32
		want    []int
	}{
		{[]int{0, 1}, []int32{3, 1}, []int{0, 0, 1, 0}},
		{[]int{0, 1, 2}, []int32{1, 1, 1}, []int{0, 1, 2}},
		{[]int{0, 1}, []int32{0, 0}, []int{0, 1}},
		{[]int{1}, []int32{5, 2}, []int{1, 1}},
	}
	for _, c := range cases {
		got := weightedSchedule(c.sites, c.weights)
		if len(got) != len(c.want) {
			t.Errorf("%v %v: got %v, want %v", c.sites, c.weights, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v %v: got %v, want %v", c.sites, c.weights, got, c.want)
				break
			}
		}
	}
}

func TestZoneRecords(t *testing.T) {
	c := testCatalog(t)
	st := state(map[string]map[string]probe.Verdict{"shop": {"east": probe.Down, "west": probe.Up}})
	var b strings.Builder
	if err := WriteZone(&b, "gslb.example.com.", c.ZoneRecords(c.Zone("gslb.example.com"), st)); err != nil {
		t.Fatal(err)
	}
	got := zone(t, b.String())
	want := zone(t, `
@ 3600 IN SOA ns-east hostmaster 7 3600 600 86400 10
@ 3600 IN NS ns-east
@ 3600 IN NS ns-west
_status.api 30 IN TXT "app=api" "strategy=weighted" "answer=east" "east=unknown" "west=unknown"
api 30 IN A 192.0.2.10
api 30 IN AAAA 2001:db8::10
east.api 30 IN A 192.0.2.10
east.api 30 IN AAAA 2001:db8::10
west.api 30 IN A 198.51.100.20
ns-east 3600 IN A 192.0.2.53
_status.near 10 IN TXT "app=near" "strategy=geo" "answer=east" "east=unknown" "west=unknown"
near 10 IN A 192.0.2.10
near 10 IN AAAA 2001:db8::10
east.near 10 IN A 192.0.2.10
east.near 10 IN AAAA 2001:db8::10
west.near 10 IN A 198.51.100.20
ns-west 3600 IN A 198.51.100.53
_status.shop 10 IN TXT "app=shop" "strategy=failover" "answer=west" "east=down" "west=up"
shop 10 IN A 198.51.100.20
east.shop 10 IN A 192.0.2.10
east.shop 10 IN AAAA 2001:db8::10
west.shop 10 IN A 198.51.100.20
_status.web 10 IN TXT "app=web" "strategy=round-robin" "answer=east" "east=unknown" "west=unknown"
web 10 IN A 192.0.2.10
web 10 IN A 198.51.100.20
web 10 IN AAAA 2001:db8::10
east.web 10 IN A 192.0.2.10
east.web 10 IN AAAA 2001:db8::10
west.web 10 IN A 198.51.100.20
`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("zone:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
