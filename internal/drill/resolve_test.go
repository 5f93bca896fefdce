package drill

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/standalone"
)

const (
	mainName = "shop.gslb.example.com"
	eastLB   = "192.0.2.10"    // east's load balancer in gslb/testdata/fleet.yaml
	westLB   = "198.51.100.20" // west's
)

// nameServer is a real hadron name server on loopback answering the test fleet's zones
// (shop's TTL is 10 s).
type nameServer struct {
	*standalone.Node
	addr string
	stop func()
}

func startNameServer(t *testing.T) *nameServer {
	t.Helper()
	f, err := fleet.Load("../gslb/testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n, err := standalone.New(standalone.Options{Fleet: f, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = n.Engine.Follow(ctx, n.Store, slog.New(slog.DiscardHandler)); done <- struct{}{} }()
	go func() { _ = n.Server.Serve(ctx); done <- struct{}{} }()
	ns := &nameServer{Node: n, addr: n.Server.Addr()}
	stopped := false
	ns.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			<-done
		}
	}
	t.Cleanup(ns.stop)
	ns.setActive(t, "east")
	return ns
}

// setActive moves shop to site and waits until the server answers it.
func (ns *nameServer) setActive(t *testing.T, site string) {
	t.Helper()
	ns.Store.SetActive("shop", site)
	want := map[string]string{"east": eastLB, "west": westLB}[site]
	coordtest.Eventually(t, 10*time.Second, ns.addr+" answers "+site, func() bool {
		ips, _, err := gslb.LookupA(context.Background(), ns.addr, mainName)
		return err == nil && len(ips) == 1 && ips[0] == want
	})
}

// muteServer takes queries and never answers, like a name server whose host is gone;
// it counts the queries it got.
func muteServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return pc.LocalAddr().String(), &n
}

// The drill's client resolves like a stub resolver at real hadron name servers: the
// first one stopped and the second mute, it gets its answer from the third, keeps it
// for the answer's TTL although the answer changes meanwhile, and asks the server
// that answered first the next time.
func TestResolverAsksTheZonesNameServersInTurn(t *testing.T) {
	stopped, live := startNameServer(t), startNameServer(t)
	stopped.stop()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	mute, muted := muteServer(t)
	r := &Resolver{Servers: []string{stopped.addr, mute, live.addr}, Timeout: 200 * time.Millisecond,
		Now: func() time.Time { return now }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lookup := func() string {
		t.Helper()
		got, err := r.Lookup(ctx, mainName)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := live.Server.Queries()
	if got := lookup(); got != eastLB || live.Server.Queries() != before+1 {
		t.Fatalf("first lookup: %s after %d queries at the live server, want %s after 1", got, live.Server.Queries()-before, eastLB)
	}
	live.setActive(t, "west")
	before = live.Server.Queries()
	now = now.Add(9 * time.Second)
	if got := lookup(); got != eastLB || live.Server.Queries() != before {
		t.Fatalf("within the TTL: %s after %d queries, want the cached %s after none", got, live.Server.Queries()-before, eastLB)
	}
	now = now.Add(2 * time.Second)
	if got := lookup(); got != westLB || live.Server.Queries() != before+1 {
		t.Fatalf("after the TTL: %s after %d queries, want %s after 1", got, live.Server.Queries()-before, westLB)
	}
	if n := muted.Load(); n != 1 {
		t.Fatalf("the mute server was asked %d times, want once: the server that answered is asked first", n)
	}

	// With no name server left, the error names what each did.
	live.stop()
	now = now.Add(11 * time.Second)
	_, err := r.Lookup(ctx, mainName)
	if err == nil || !strings.Contains(err.Error(), "no name server answered") || !strings.Contains(err.Error(), live.addr) {
		t.Fatalf("every name server gone: %v", err)
	}
}

// An answer that another name server would only repeat ends the lookup: a name the
// zone does not have is not asked again elsewhere.
func TestResolverTakesAFinalAnswerFromTheFirstServer(t *testing.T) {
	a, b := startNameServer(t), startNameServer(t)
	r := &Resolver{Servers: []string{a.addr, b.addr}}
	before := b.Server.Queries()
	_, err := r.Lookup(context.Background(), "nope.gslb.example.com")
	if err == nil || !strings.Contains(err.Error(), "NXDOMAIN") || b.Server.Queries() != before {
		t.Fatalf("NXDOMAIN: %v after %d queries at the second server", err, b.Server.Queries()-before)
	}
}
