package links

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"hadron.dev/hadron/lab/internal/topology"
)

// testConfig is a two-region world on 127.0.201.0/24 and 127.0.202.0/24, away from a
// lab the user may be running.
func testConfig() topology.Config {
	zero := 0
	demo := false
	return topology.Config{
		FirstRegion: 201,
		Demo:        &demo,
		Latency:     topology.Duration{Duration: 30 * time.Millisecond},
		Sites: []topology.SiteConfig{
			{Name: "a", Region: "r-a", Role: topology.RoleWorkload, Zones: []string{"a1"}, NodesPerZone: &zero},
			{Name: "b", Region: "r-b", Role: topology.RoleWorkload, Zones: []string{"b1"}, NodesPerZone: &zero},
		},
	}
}

// echo serves a line-echo server on addr until the test ends.
func echo(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// roundTrip sends a line through addr and returns how long the echo took.
func roundTrip(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "ping\n" {
		return 0, errors.New("echo returned " + line)
	}
	return time.Since(start), nil
}

func TestCutHealLatency(t *testing.T) {
	cfg := testConfig()
	a, _ := cfg.Site("a")
	b, _ := cfg.Site("b")
	echo(t, b.Ingress()) // b's load balancer
	l, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	via, err := topology.Via(a.Index, b.Index, b.Ingress())
	if err != nil {
		t.Fatal(err)
	}
	rtt, err := roundTrip(via)
	if err != nil {
		t.Fatalf("through the link: %v", err)
	}
	// 30 ms each way: the echo cannot come back in less than the round trip.
	if rtt < 60*time.Millisecond {
		t.Errorf("round trip through a 30ms link took %s; latency not applied", rtt)
	}

	if err := l.Cut("b", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(via); err == nil {
		t.Fatal("TCP went through a cut link")
	}
	if st := l.Status(); len(st) != 1 || !st[0].Cut || st[0].Link != "a-b" {
		t.Errorf("status after cut = %+v", st)
	}
	// The target itself is still up: only the link is cut.
	if _, err := roundTrip(b.Ingress()); err != nil {
		t.Fatalf("direct path should be unaffected: %v", err)
	}

	if err := l.Heal("a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetLatency("a", "b", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(via); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if st := l.Status(); st[0].Cut || st[0].Latency != 0 {
		t.Errorf("status after heal = %+v", st)
	}

	if err := l.Cut("a", "nowhere"); !errors.Is(err, ErrUnknownLink) {
		t.Errorf("cut of an unknown link: %v", err)
	}
	if err := l.SetLatency("a", "b", 10*time.Second); err == nil {
		t.Error("latency of 10s accepted")
	}
}

func TestStartFailsCleanlyOnBusyAddress(t *testing.T) {
	cfg := testConfig()
	ps, err := cfg.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", ps[len(ps)-1].Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := Start(cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Start succeeded with a proxy address in use")
	}
	// Nothing else may be left listening.
	for _, p := range ps[:len(ps)-1] {
		ln, err := net.Listen("tcp", p.Listen)
		if err != nil {
			t.Errorf("%s still held after a failed start: %v", p.Listen, err)
			continue
		}
		ln.Close()
	}
}

// The object store has a link of its own per region, on top of the link between the
// regions: cutting a-objectstore cuts only a's way to the store; a healed store link
// stays cut while the regions' link is; healing that one opens it again.
func TestObjectStoreLink(t *testing.T) {
	zero := 0
	cfg := topology.Config{
		FirstRegion: 204,
		Sites: []topology.SiteConfig{
			{Name: "a", Region: "r-a", Role: topology.RoleWorkload, Zones: []string{"a1"}, NodesPerZone: &zero},
			{Name: "b", Region: "r-b", Role: topology.RoleWorkload, Zones: []string{"b1"}, NodesPerZone: &zero},
			{Name: "w", Region: "r-w", Role: topology.RoleWitness},
		},
	}
	store := cfg.ObjectStoreAddr()
	echo(t, store)
	a, _ := cfg.Site("a")
	b, _ := cfg.Site("b")
	w := cfg.ObjectStoreSite()
	if w.Name != "w" {
		t.Fatalf("the store is in %s, want the witness's region", w.Name)
	}
	fromA, _ := topology.Via(a.Index, w.Index, store)
	fromB, _ := topology.Via(b.Index, w.Index, store)
	l, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reach := func(step, addr string, want bool) {
		t.Helper()
		if _, err := roundTrip(addr); (err == nil) != want {
			t.Errorf("%s: reach %s = %v, want %v", step, addr, err == nil, want)
		}
	}
	reach("up", fromA, true)
	if err := l.Cut("objectstore", "a"); err != nil {
		t.Fatal(err)
	}
	reach("a-objectstore cut", fromA, false)
	reach("a-objectstore cut", fromB, true)
	var found bool
	for _, st := range l.Status() {
		if st.Link == "a-objectstore" {
			found = true
			if !st.Cut || st.Proxies != 1 {
				t.Errorf("status of a-objectstore = %+v", st)
			}
		}
	}
	if !found {
		t.Errorf("no a-objectstore in %+v", l.Status())
	}
	if err := l.Cut("a", "w"); err != nil {
		t.Fatal(err)
	}
	if err := l.Heal("a", "objectstore"); err != nil {
		t.Fatal(err)
	}
	reach("a-w still cut", fromA, false)
	if err := l.Heal("a", "w"); err != nil {
		t.Fatal(err)
	}
	reach("healed", fromA, true)
	if err := l.CutOneWay("b", "objectstore"); err != nil {
		t.Fatal(err)
	}
	reach("b→objectstore cut one way", fromB, false)
	if err := l.Cut("w", "objectstore"); !errors.Is(err, ErrUnknownLink) {
		t.Errorf("the store's own region has no link to it: %v", err)
	}
}
