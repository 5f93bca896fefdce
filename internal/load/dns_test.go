package load_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/demo"
	"hadron.dev/hadron/internal/load"
)

// twoSites serves the demo API for "east" on 127.0.0.11:P and "west" on 127.0.0.12:P
// (one port, two addresses, as a DNS name moving between two load balancers), backed by
// one store as a replicated database would be. It returns P.
func twoSites(t *testing.T) int {
	t.Helper()
	store := demo.NewMemStore()
	for attempt := 0; attempt < 20; attempt++ {
		east, err := net.Listen("tcp", "127.0.0.11:0")
		if err != nil {
			t.Fatal(err)
		}
		port := east.Addr().(*net.TCPAddr).Port
		west, err := net.Listen("tcp", net.JoinHostPort("127.0.0.12", strconv.Itoa(port)))
		if err != nil {
			east.Close() // the port is taken on the other address; try another
			continue
		}
		for ln, site := range map[net.Listener]string{east: "east", west: "west"} {
			srv := &http.Server{Handler: demo.NewHandler(site, store, nil)}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { srv.Close() })
		}
		return port
	}
	t.Fatal("no port free on both 127.0.0.11 and 127.0.0.12")
	return 0
}

// nameServer answers A queries for every name with the address in ip (TTL 0).
func nameServer(t *testing.T, ip *atomic.Value) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if q := r.Question[0]; q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET},
				A: net.ParseIP(ip.Load().(string))})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestFollowsDNS moves the name from east to west during a run. Without keep-alive every
// write resolves the name again, so the writes after the move go to west; with
// keep-alive the open connection keeps going to east.
func TestFollowsDNS(t *testing.T) {
	port := twoSites(t)
	for _, keepAlive := range []bool{false, true} {
		t.Run("keepAlive="+strconv.FormatBool(keepAlive), func(t *testing.T) {
			var ip atomic.Value
			ip.Store("127.0.0.11")
			ns := nameServer(t, &ip)
			var acked atomic.Int64
			var movedAt atomic.Int64 // the highest seq handed out before the move
			cfg := load.Config{
				URL: "http://shop.hadron.test:" + strconv.Itoa(port), Rate: 500, Duration: time.Minute, Workers: 1, MaxWrites: 200,
				HTTPClient: load.NewHTTPClient(2*time.Second, keepAlive, load.ResolverAt(ns)),
				OnAttempt: func(a load.Attempt) {
					if a.OK && acked.Add(1) == 50 {
						ip.Store("127.0.0.12")
						// One worker, one-slot channels: while this runs, seq+1 may be
						// done and seq+2 in flight with the old answer; seq+3 is taken
						// only after this callback returned.
						movedAt.Store(a.Seq + 2)
					}
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := load.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summarize()
			if s.Acked != 200 {
				t.Fatalf("summary %+v", s)
			}
			for _, a := range res.Attempts {
				if a.Seq <= 50 && a.Site != "east" {
					t.Fatalf("seq %d before the move went to %s", a.Seq, a.Site)
				}
				if a.Seq > movedAt.Load() {
					if want := map[bool]string{false: "west", true: "east"}[keepAlive]; a.Site != want {
						t.Fatalf("seq %d after the move went to %s, want %s", a.Seq, a.Site, want)
					}
				}
			}
			v, err := load.Verify(ctx, cfg.HTTPClient, res)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Lost) != 0 {
				t.Fatalf("lost %v", v.Lost)
			}
		})
	}
}
