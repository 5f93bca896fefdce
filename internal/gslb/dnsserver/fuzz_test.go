package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary packets to the UDP message handler (fast path and
// handler chain). Every reply must parse, carry the query's ID, be a response, never
// offer recursion, and fit the 512 bytes of plain DNS unless the query had EDNS.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"shop.gslb.example.com.", dns.TypeA, false},
		{"SHOP.gslb.example.com.", dns.TypeAAAA, true},
		{"near.gslb.example.com.", dns.TypeA, true},
		{"nope.gslb.example.com.", dns.TypeTXT, false},
		{"example.com.", dns.TypeNS, true},
		{"gslb.example.com.", dns.TypeANY, false},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(4096, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	e := testEngine(f)
	s := offline(e, RateLimit{})
	out := make([]byte, dns.MaxMsgSize)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		n := s.handlePacket(pkt, out, client)
		if n == 0 {
			return
		}
		r := new(dns.Msg)
		if err := r.Unpack(out[:n]); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if r.Id != uint16(pkt[0])<<8|uint16(pkt[1]) {
			t.Fatalf("reply ID %d does not match the query", r.Id)
		}
		if !r.Response || r.RecursionAvailable {
			t.Fatalf("bad reply flags: %v", r.MsgHdr)
		}
		q := new(dns.Msg)
		if q.Unpack(pkt) == nil && q.IsEdns0() == nil && n > dns.MinMsgSize {
			t.Fatalf("%d-byte reply to a query without EDNS", n)
		}
	})
}
