package drill

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestResolverKeepsAnswersForTheirTTL serves the name over UDP with a TTL and changes
// the address: the resolver keeps the old one until the TTL passes, then asks again.
func TestResolverKeepsAnswersForTheirTTL(t *testing.T) {
	var ip atomic.Value
	ip.Store("127.0.1.10")
	var queries atomic.Int32
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR("shop.gslb.example.com. 10 IN A " + ip.Load().(string))
		m.Answer = append(m.Answer, rr)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := &Resolver{Server: pc.LocalAddr().String(), Now: func() time.Time { return now }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lookup := func() string {
		t.Helper()
		got, err := r.Lookup(ctx, "shop.gslb.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := lookup(); got != "127.0.1.10" {
		t.Fatalf("first answer %s", got)
	}
	ip.Store("127.0.2.10")
	now = now.Add(9 * time.Second)
	if got := lookup(); got != "127.0.1.10" || queries.Load() != 1 {
		t.Fatalf("within the TTL: %s after %d queries, want the cached 127.0.1.10 after 1", got, queries.Load())
	}
	now = now.Add(2 * time.Second)
	if got := lookup(); got != "127.0.2.10" || queries.Load() != 2 {
		t.Fatalf("after the TTL: %s after %d queries, want 127.0.2.10 after 2", got, queries.Load())
	}
}
