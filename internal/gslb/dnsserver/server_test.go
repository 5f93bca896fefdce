package dnsserver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

// testCatalog is the answers of the test fleet.
func testCatalog(t testing.TB) *gslb.Catalog {
	t.Helper()
	f, err := fleet.Load("../testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// testEngine answers the test fleet in an empty state.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Update(gslb.State{Apps: map[string]gslb.AppState{}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// offline is a server that has no sockets: handlePacket is all the tests need.
func offline(e *Engine, rrl RateLimit) *Server {
	return &Server{cfg: Config{Engine: e}, chain: Chain(Answer(e), Sanitize), limiter: newLimiter(rrl),
		log: discard, now: func() int64 { return 0 }}
}

var client = netip.MustParseAddrPort("127.0.0.1:5353")

func exchange(t testing.TB, s *Server, q *dns.Msg) *dns.Msg {
	t.Helper()
	pkt, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, dns.MaxMsgSize)
	n := s.handlePacket(pkt, out, client)
	if n == 0 {
		return nil
	}
	r := new(dns.Msg)
	if err := r.Unpack(out[:n]); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return r
}

// TestFastPathMatchesChain checks that every precomputed answer is what the handler
// chain (and so the pure answer function) says, for every name, type and EDNS shape,
// in states with and without failover.
func TestFastPathMatchesChain(t *testing.T) {
	e := testEngine(t)
	states := []gslb.State{
		{Version: 2, Apps: map[string]gslb.AppState{}},
		{Version: 3, Apps: map[string]gslb.AppState{
			"shop": {Health: map[string]probe.Verdict{"east": probe.Down, "west": probe.Up}},
			"web":  {Health: map[string]probe.Verdict{"east": probe.Up, "west": probe.Up}},
			"api":  {Health: map[string]probe.Verdict{"east": probe.Down}},
		}},
	}
	names := []string{"nope.gslb.example.com.", "x.y.other.example.org.", "example.net.", "."}
	for _, z := range e.cat.Zones {
		for n := range z.Names {
			names = append(names, n, strings.ToUpper(n))
		}
	}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT, dns.TypeSOA, dns.TypeNS, dns.TypeANY, dns.TypeMX, dns.TypeHTTPS}
	for _, st := range states {
		if err := e.Update(st); err != nil {
			t.Fatal(err)
		}
		c := e.current()
		fast := 0
		for _, name := range names {
			for _, qt := range types {
				for _, edns := range []bool{false, true} {
					q := new(dns.Msg)
					q.SetQuestion(name, qt)
					q.Id = 4242
					if edns {
						q.SetEdns0(4096, true)
					}
					pkt, _ := q.Pack()
					out := make([]byte, dns.MaxMsgSize)
					// The same sequence number on both paths: weighted and round-robin
					// answers must match too.
					seq := e.seq.Load()
					n, ok := c.fastReply(pkt, out, client.Addr(), &e.seq)
					if !ok {
						continue
					}
					fast++
					e.seq.Store(seq)
					got := new(dns.Msg)
					if err := got.Unpack(out[:n]); err != nil {
						t.Fatalf("%s %s: fast reply does not parse: %v", name, dns.TypeToString[qt], err)
					}
					want := exchangeSlow(t, offline(e, RateLimit{}), q)
					if got.String() != want.String() {
						t.Errorf("%s %s edns=%v:\nfast:\n%s\nchain:\n%s", name, dns.TypeToString[qt], edns, got, want)
					}
				}
			}
		}
		if fast < len(names)*len(types)/2 {
			t.Errorf("only %d queries took the fast path", fast)
		}
	}
}

func exchangeSlow(t testing.TB, s *Server, q *dns.Msg) *dns.Msg {
	t.Helper()
	pkt, _ := q.Pack()
	out := make([]byte, dns.MaxMsgSize)
	n := s.slowPacket(pkt, out, client)
	r := new(dns.Msg)
	if err := r.Unpack(out[:n]); err != nil {
		t.Fatalf("chain reply does not parse: %v", err)
	}
	return r
}

func TestFastPathAllocatesNothing(t *testing.T) {
	e := testEngine(t)
	q := new(dns.Msg)
	q.SetQuestion("shop.gslb.example.com.", dns.TypeA)
	pkt, _ := q.Pack()
	out := make([]byte, dns.MaxMsgSize)
	c := e.current()
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := c.fastReply(pkt, out, client.Addr(), &e.seq); !ok {
			t.Fatal("not answered by the fast path")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per query", allocs)
	}
}

func TestChainCases(t *testing.T) {
	s := offline(testEngine(t), RateLimit{})
	notify := new(dns.Msg)
	notify.SetNotify("gslb.example.com.")
	chaos := new(dns.Msg)
	chaos.SetQuestion("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	axfr := new(dns.Msg)
	axfr.SetAxfr("gslb.example.com.")
	badvers := new(dns.Msg)
	badvers.SetQuestion("shop.gslb.example.com.", dns.TypeA)
	badvers.SetEdns0(1232, false)
	badvers.IsEdns0().SetVersion(1)
	cases := []struct {
		name  string
		q     *dns.Msg
		rcode int
	}{
		{"NOTIFY is not implemented", notify, dns.RcodeNotImplemented},
		{"CHAOS is refused", chaos, dns.RcodeRefused},
		{"AXFR is refused", axfr, dns.RcodeRefused},
		{"EDNS version 1 gets BADVERS", badvers, dns.RcodeBadVers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := exchange(t, s, c.q)
			if r == nil || r.Rcode != c.rcode {
				t.Fatalf("got %v, want rcode %s", r, dns.RcodeToString[c.rcode])
			}
			if r.RecursionAvailable {
				t.Error("RA set")
			}
		})
	}
}

func TestClientSubnet(t *testing.T) {
	s := offline(testEngine(t), RateLimit{})
	q := new(dns.Msg)
	q.SetQuestion("near.gslb.example.com.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1,
		SourceNetmask: 24, Address: netip.MustParseAddr("10.2.3.0").AsSlice()})
	r := exchange(t, s, q)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "198.51.100.20" {
		t.Fatalf("answer %v, want west's address", r.Answer)
	}
	ecs, _ := r.IsEdns0().Option[0].(*dns.EDNS0_SUBNET)
	if ecs == nil || ecs.SourceScope != 24 {
		t.Fatalf("ECS in reply %v, want scope 24", r.IsEdns0())
	}
}

func TestRateLimit(t *testing.T) {
	s := offline(testEngine(t), RateLimit{Rate: 5, Slip: 2})
	q := new(dns.Msg)
	q.SetQuestion("shop.gslb.example.com.", dns.TypeA)
	var sent, slipped, dropped int
	for range 20 {
		switch r := exchange(t, s, q); {
		case r == nil:
			dropped++
		case r.Truncated:
			slipped++
		default:
			sent++
		}
	}
	if sent != 5 || slipped != 7 || dropped != 8 {
		t.Fatalf("sent %d slipped %d dropped %d; want 5, 7, 8", sent, slipped, dropped)
	}
	// Another network has its own budget.
	pkt, _ := q.Pack()
	if n := s.handlePacket(pkt, make([]byte, 512), netip.MustParseAddrPort("127.0.1.1:53")); n == 0 {
		t.Fatal("another source network was limited")
	}
}

func TestFastPathIgnoresCookies(t *testing.T) {
	e := testEngine(t)
	q := new(dns.Msg)
	q.SetQuestion("shop.gslb.example.com.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
	pkt, _ := q.Pack()
	out := make([]byte, dns.MaxMsgSize)
	n, ok := e.current().fastReply(pkt, out, client.Addr(), &e.seq)
	if !ok {
		t.Fatal("a query with a cookie left the fast path")
	}
	r := new(dns.Msg)
	if err := r.Unpack(out[:n]); err != nil || len(r.Answer) != 1 || r.IsEdns0() == nil {
		t.Fatalf("reply %v, %v", r, err)
	}
}

// TestNoStateNoAnswer: until the engine has a state, every query is SERVFAIL (a
// restarted daemon that has not read etcd must not answer the policy's default site,
// which a failover may have fenced); the first state makes it answer.
func TestNoStateNoAnswer(t *testing.T) {
	cat := testCatalog(t)
	e, err := NewEngine(cat)
	if err != nil {
		t.Fatal(err)
	}
	s := offline(e, RateLimit{})
	var name string
	for _, z := range cat.Zones {
		for n := range z.Names {
			name = n
			break
		}
	}
	for _, edns := range []bool{false, true} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		if edns {
			q.SetEdns0(1232, false)
		}
		r := exchange(t, s, q)
		if r == nil || r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
			t.Fatalf("before any state (edns %v): %v, want SERVFAIL and no answer", edns, r)
		}
	}
	if e.Ready() || e.Version() != 0 {
		t.Fatalf("ready %v version %d before any state", e.Ready(), e.Version())
	}
	if err := e.Update(gslb.State{Version: 7, Apps: map[string]gslb.AppState{}}); err != nil {
		t.Fatal(err)
	}
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	if r := exchange(t, s, q); r == nil || r.Rcode == dns.RcodeServerFailure {
		t.Fatalf("after the first state: %v, want an answer", r)
	}
}
