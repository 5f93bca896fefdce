package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
)

// answer asks a daemon's name server for the main name's first A record.
func answer(addr string) string {
	m := new(dns.Msg)
	m.SetQuestion(daemontest.Main+".", dns.TypeA)
	c := &dns.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	in, _, err := c.ExchangeContext(ctx, m, addr)
	if err != nil || len(in.Answer) == 0 {
		return ""
	}
	if a, ok := in.Answer[0].(*dns.A); ok {
		return a.A.String()
	}
	return ""
}

// BenchmarkMainNameMoves measures, with three daemons observing, the time from the
// active site's load balancer going dark to every daemon's name server answering the
// stand-by. Each iteration starts a fresh fleet. Run:
//
//	go test -run '^$' -bench MainNameMoves -benchtime 5x ./internal/daemon/
//
// with the lab's settings (1 s interval and timeout, fall 3) and with 200 ms.
func BenchmarkMainNameMoves(b *testing.B) {
	for _, interval := range []time.Duration{200 * time.Millisecond, time.Second} {
		b.Run(interval.String(), func(b *testing.B) {
			var total, worst time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w := daemontest.Start(b, 230+i%10, daemontest.Options{Interval: interval})
				w.WaitLeader(b, all...)
				east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
				addrs := []string{}
				for _, s := range all {
					addrs = append(addrs, w.Daemons[s].DNSAddr())
				}
				coordtest.Eventually(b, 60*time.Second, "both up, east answered", func() bool {
					v := w.Status(b, "witness").Apps[0].Verdicts
					return v["east"] == "up" && v["west"] == "up" && answer(addrs[0]) == east
				})
				b.StartTimer()
				start := time.Now()
				w.LBs["east"].Stop()
				for _, a := range addrs {
					for answer(a) != west {
						if time.Since(start) > time.Minute {
							b.Fatalf("%s still answers east", a)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
				d := time.Since(start)
				b.StopTimer()
				total += d
				worst = max(worst, d)
				for _, r := range w.Daemons {
					r.Stop()
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/move")
			b.ReportMetric(worst.Seconds(), "max-s")
		})
	}
}
