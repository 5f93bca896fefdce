package daemon

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/standalone"
)

func TestJudgeMainName(t *testing.T) {
	want := map[string]bool{"10.2.0.1": true, "10.2.0.2": true}
	west := func(site string) nameServerAnswer { return nameServerAnswer{site: site, ips: []string{"10.2.0.1"}} }
	refused := func(site string) nameServerAnswer {
		return nameServerAnswer{site: site, err: &net.OpError{Op: "read", Net: "udp", Err: syscall.ECONNREFUSED}}
	}
	pending := func(site string) nameServerAnswer { return nameServerAnswer{site: site, pending: true} }
	for _, tc := range []struct {
		name              string
		answers           []nameServerAnswer
		quorum            int
		decided, verified bool
		others            []string
	}{
		{"every name server agrees", []nameServerAnswer{west("east"), west("west"), west("witness")}, 2, true, true, nil},
		{"a majority agrees, one refuses", []nameServerAnswer{refused("east"), west("west"), west("witness")}, 2, true, true,
			[]string{"east: no answer (connection refused)"}},
		{"a majority agrees before the last answers", []nameServerAnswer{pending("east"), west("west"), west("witness")}, 2, true, true,
			[]string{"east: no answer yet"}},
		{"none answers", []nameServerAnswer{refused("east"), refused("west"), refused("witness")}, 2, true, false,
			[]string{"east: no answer (connection refused)", "west: no answer (connection refused)", "witness: no answer (connection refused)"}},
		{"one agrees, the others silent", []nameServerAnswer{{site: "east", err: context.DeadlineExceeded}, west("west"),
			{site: "witness", err: &gslb.RcodeError{Rcode: 5}}}, 2, true, false,
			[]string{"east: no answer (timed out)", "witness: no answer (answers REFUSED)"}},
		{"an empty answer does not count", []nameServerAnswer{{site: "east"}, west("west"), refused("witness")}, 2, true, false,
			[]string{"east: answers no address", "witness: no answer (connection refused)"}},
		{"one agrees, one still out: wait", []nameServerAnswer{refused("east"), west("west"), pending("witness")}, 2, false, false,
			[]string{"east: no answer (connection refused)", "witness: no answer yet"}},
		{"another address fails", []nameServerAnswer{{site: "east", ips: []string{"10.1.0.1"}}, west("west"), west("witness")}, 2, true, false,
			[]string{"east answers 10.1.0.1"}},
		{"another address among the target's fails", []nameServerAnswer{{site: "east", ips: []string{"10.2.0.1", "10.1.0.1"}}, west("west")}, 1, true, false,
			[]string{"east answers 10.2.0.1,10.1.0.1"}},
		{"another address holds off a quorum; the failure waits for the rest", []nameServerAnswer{{site: "east", ips: []string{"10.1.0.1"}},
			west("west"), west("witness"), pending("south")}, 2, false, false,
			[]string{"east answers 10.1.0.1", "south: no answer yet"}},
		{"a quorum of one", []nameServerAnswer{refused("east"), west("west"), pending("witness")}, 1, true, true,
			[]string{"east: no answer (connection refused)", "witness: no answer yet"}},
		{"a quorum of all waits for the last", []nameServerAnswer{west("east"), west("west"), pending("witness")}, 3, false, false,
			[]string{"witness: no answer yet"}},
		{"no name server", nil, 1, true, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeMainName(tc.answers, want, tc.quorum)
			if v.decided != tc.decided || v.verified != tc.verified || strings.Join(v.others, "|") != strings.Join(tc.others, "|") {
				t.Fatalf("judgeMainName = decided %v, verified %v, others %q; want %v, %v, %q",
					v.decided, v.verified, v.others, tc.decided, tc.verified, tc.others)
			}
		})
	}
}

func TestVerifyQuorumDefaultsToAMajority(t *testing.T) {
	two := int32(2)
	for _, tc := range []struct {
		set  *int32
		n    int
		want int
	}{{nil, 1, 1}, {nil, 2, 2}, {nil, 3, 2}, {nil, 4, 3}, {nil, 5, 3}, {&two, 5, 2}} {
		if got := verifyQuorum(tc.set, tc.n); got != tc.want {
			t.Errorf("verifyQuorum(%v, %d) = %d, want %d", tc.set, tc.n, got, tc.want)
		}
	}
}

// startNameServer runs a real hadron name server on loopback that answers shop's main
// name with active's load balancer; stop closes its sockets.
func startNameServer(t *testing.T, active string) (addr string, stop func()) {
	t.Helper()
	f, err := fleet.Load("../gslb/testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n, err := standalone.New(standalone.Options{Fleet: f, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	n.Store.SetActive("shop", active)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = n.Engine.Follow(ctx, n.Store, slog.New(slog.DiscardHandler)); done <- struct{}{} }()
	go func() { _ = n.Server.Serve(ctx); done <- struct{}{} }()
	addr = n.Server.Addr()
	// The engine has compiled the state once the main name answers active.
	lb := map[string]string{"east": "192.0.2.10", "west": "198.51.100.20"}[active]
	coordtest.Eventually(t, 10*time.Second, "name server answers "+active, func() bool {
		ips, _, err := gslb.LookupA(ctx, addr, "shop.gslb.example.com")
		return err == nil && len(ips) == 1 && ips[0] == lb
	})
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			<-done
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// muteNameServer is a UDP socket that takes queries and never answers, like a daemon
// whose host is gone without a trace.
func muteNameServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// The main name's check asks real hadron name servers: it needs a majority to answer
// the target, names the silent ones and what they answered, and does not wait for a
// mute name server once a majority agrees.
func TestMainNameCheckNeedsAMajorityOfRealNameServers(t *testing.T) {
	westIPs := map[string]bool{"198.51.100.20": true}
	a, _ := startNameServer(t, "west")
	b, stopB := startNameServer(t, "west")
	old, _ := startNameServer(t, "east")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	check := func(quorum int, timeout time.Duration, servers ...nameServer) (string, error) {
		c := mainNameCheck{name: "shop.gslb.example.com", servers: servers, quorum: quorum, timeout: timeout}
		return c.run(ctx, "west", westIPs)
	}

	// Two of three agree; the third never answers and its timeout (a minute) is not
	// awaited: it is reported as not having answered yet.
	detail, err := check(2, time.Minute, nameServer{"a", a}, nameServer{"b", b}, nameServer{"mute", muteNameServer(t)})
	if err != nil || !strings.Contains(detail, "answers west at 2/3 name servers (needs 2); mute: no answer yet") {
		t.Fatalf("two of three: %q, %v", detail, err)
	}

	// A name server answering the old site fails the check while the quorum still
	// needs its answer (a later one is not awaited once a quorum agrees).
	_, err = check(2, time.Second, nameServer{"a", a}, nameServer{"old", old})
	if err == nil || !strings.Contains(err.Error(), "old answers 192.0.2.10") {
		t.Fatalf("a name server answering the old site: %v", err)
	}

	// With b stopped, one of three agrees: not verified, and the error names b and
	// what happened to the query.
	stopB()
	_, err = check(2, time.Second, nameServer{"a", a}, nameServer{"b", b}, nameServer{"gone", muteNameServer(t)})
	if err == nil || !strings.Contains(err.Error(), "answers west at 1/3 name servers (needs 2)") ||
		!strings.Contains(err.Error(), "b: no answer (") || !strings.Contains(err.Error(), "gone: no answer (timed out)") {
		t.Fatalf("one of three: %v", err)
	}
	// A quorum of one (spec.dns.verifyQuorum: 1) passes with the one.
	if detail, err := check(1, time.Second, nameServer{"a", a}, nameServer{"b", b}); err != nil ||
		!strings.Contains(detail, "answers west at 1/2 name servers (needs 1); b: no answer") {
		t.Fatalf("quorum of one: %q, %v", detail, err)
	}
}
