package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/testenv"
)

// lb is a site's load balancer: a real HTTP listener on a loopback address.
type lb struct {
	srv  *httptest.Server
	addr string
}

func startLB(t *testing.T, ip string) *lb {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return &lb{srv: srv, addr: l.Addr().String()}
}

// stop closes the listener so that probes are refused.
func (l *lb) stop() { l.srv.Close() }

// deadAddr is a loopback address with nothing listening.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func site(name, region string, lbs ...v1alpha1.Endpoint) *v1alpha1.Site {
	return &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.SiteSpec{Region: region, LoadBalancers: lbs}}
}

// testFleet is east (active) and west (stand-by) with HTTP health checks fast enough
// for a test; the defaults are measured by the benchmark instead.
func testFleet(east, west []v1alpha1.Endpoint) *fleet.Fleet {
	ms := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	return &fleet.Fleet{
		Sites: []*v1alpha1.Site{
			site("east", "us-east", east...), site("west", "us-west", west...),
			{ObjectMeta: metav1.ObjectMeta{Name: "witness"}, Spec: v1alpha1.SiteSpec{Region: "eu", Role: v1alpha1.SiteRoleWitness}},
		},
		Applications: []*v1alpha1.Application{{
			ObjectMeta: metav1.ObjectMeta{Name: "shop"},
			Spec: v1alpha1.ApplicationSpec{
				Namespace: "shop",
				Policy:    v1alpha1.Policy{Mode: v1alpha1.ModeActivePassive, ActiveSite: "east", StandbySites: []string{"west"}},
				DNS:       &v1alpha1.DNS{Zone: "gslb.test", Name: "shop.gslb.test"},
				Health: &v1alpha1.Health{Type: v1alpha1.ProbeHTTP, Path: "/healthz",
					Interval: ms(50 * time.Millisecond), Timeout: ms(500 * time.Millisecond), Rise: 2, Fall: 3},
			},
		}},
	}
}

// startNode runs a node; before lets a test adjust it before it runs.
func startNode(t *testing.T, f *fleet.Fleet, observers []Observer, before ...func(*Node)) *Node {
	t.Helper()
	return startNodeWith(t, Options{Fleet: f, Observers: observers}, before...)
}

// startNodeWith starts a node with o on loopback (no rate limit unless o has one).
func startNodeWith(t *testing.T, o Options, before ...func(*Node)) *Node {
	t.Helper()
	o.Listen, o.Log = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range before {
		b(n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	return n
}

// dig runs the real dig against the node and returns its output.
func dig(t *testing.T, n *Node, args ...string) string {
	t.Helper()
	return runTool(t, testenv.LookPath(t, "dig"), n, append([]string{"+tries=1", "+time=2"}, args...)...)
}

func kdig(t *testing.T, n *Node, args ...string) string {
	t.Helper()
	return runTool(t, testenv.LookPath(t, "kdig"), n, append([]string{"+retry=0", "+timeout=2"}, args...)...)
}

func runTool(t *testing.T, bin string, n *Node, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.Server.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"@" + host, "-p", port}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(full, " "), err, out)
	}
	return string(out)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ep(addr string, from map[string]string) v1alpha1.Endpoint {
	return v1alpha1.Endpoint{Address: addr, FromRegions: from}
}
