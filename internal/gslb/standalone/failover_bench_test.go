package standalone

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

// BenchmarkFailoverTime measures, with the default health settings (interval 1 s,
// timeout 1 s, fall 3) and one observer, the time from the active site's endpoint
// going dark to the main name answering the stand-by. "refused" closes the listener;
// "hang" keeps accepting but never answers, so every probe runs into its timeout.
// Resolvers see the change up to one TTL (default 10 s) later.
//
//	go test -run '^$' -bench FailoverTime -benchtime 3x ./internal/gslb/standalone/
func BenchmarkFailoverTime(b *testing.B) {
	for _, mode := range []string{"refused", "hang"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += failoverOnce(b, mode)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/failover")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func failoverOnce(b *testing.B, mode string) time.Duration {
	b.StopTimer()
	defer b.StartTimer()
	var dark atomic.Bool
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dark.Load() {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	east := benchLB(b, "127.0.0.1", handler)
	west := benchLB(b, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f := &fleet.Fleet{
		Sites: []*v1alpha1.Site{
			site("east", "us-east", ep(east.Listener.Addr().String(), nil)),
			site("west", "us-west", ep(west.Listener.Addr().String(), nil)),
		},
		Applications: []*v1alpha1.Application{{
			ObjectMeta: metav1.ObjectMeta{Name: "shop"},
			Spec: v1alpha1.ApplicationSpec{Namespace: "shop",
				Policy: v1alpha1.Policy{Mode: v1alpha1.ModeActivePassive, ActiveSite: "east", StandbySites: []string{"west"}},
				DNS:    &v1alpha1.DNS{Zone: "gslb.test", Name: "shop.gslb.test"},
				Health: &v1alpha1.Health{Type: v1alpha1.ProbeHTTP}},
		}},
	}
	n, err := New(Options{Fleet: f, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	answer := func() string {
		m := new(dns.Msg)
		m.SetQuestion("shop.gslb.test.", dns.TypeA)
		qctx, qcancel := context.WithTimeout(ctx, time.Second)
		defer qcancel()
		r, err := dns.ExchangeContext(qctx, m, n.Server.Addr())
		if err != nil || len(r.Answer) == 0 {
			return ""
		}
		return r.Answer[0].(*dns.A).A.String()
	}
	wait := func(want string) time.Time {
		deadline := time.Now().Add(30 * time.Second)
		for answer() != want {
			if time.Now().After(deadline) {
				b.Fatalf("main name never answered %s", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Now()
	}
	// Both sites up by quorum first, as in steady state.
	deadline := time.Now().Add(30 * time.Second)
	for v := n.Tracker.Verdicts("shop"); v["east"] != "up" || v["west"] != "up"; v = n.Tracker.Verdicts("shop") {
		if time.Now().After(deadline) {
			b.Fatal("sites never up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wait("127.0.0.1")
	start := time.Now()
	if mode == "refused" {
		east.Close()
	} else {
		dark.Store(true)
	}
	return wait("127.0.0.2").Sub(start)
}

func benchLB(b *testing.B, ip string, h http.Handler) *httptest.Server {
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		b.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener = l
	s.Start()
	b.Cleanup(s.Close)
	return s
}
