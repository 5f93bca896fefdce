package coord_test

import (
	"context"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
)

// BenchmarkLeaderCrash measures the time from the leader's daemon dying without
// resigning (its etcd member stops) to another daemon holding the leadership, with the
// default lease. Each iteration starts a fresh three-member cluster. Run:
//
//	go test -run '^$' -bench LeaderCrash -benchtime 5x ./internal/coord/
func BenchmarkLeaderCrash(b *testing.B) {
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, members := coordtest.StartCluster(b, coordtest.Fleet(250+i%5))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		wins := make(chan string, len(members))
		for _, m := range members {
			e := coord.NewElector(m.Client, m.Name, coord.DefaultLeaseTTL)
			go func() {
				if _, err := e.Campaign(ctx); err == nil {
					wins <- m.Name
				}
			}()
		}
		first := <-wins
		b.StartTimer()
		start := time.Now()
		for _, m := range members {
			if m.Name == first {
				m.Stop()
			}
		}
		select {
		case <-wins:
		case <-ctx.Done():
			b.Fatal("no new leader")
		}
		d := time.Since(start)
		b.StopTimer()
		cancel()
		for _, m := range members {
			m.Stop()
		}
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/failover")
	b.ReportMetric(worst.Seconds(), "max-s")
}
