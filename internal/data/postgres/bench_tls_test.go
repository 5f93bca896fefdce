package postgres

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

// BenchmarkTLSCost measures what TLS (verify-full) costs against the same set without
// it, in one run: the DR member's lag under 1,000 writes/s across the 35 ms link, and
// the write pause of a planned switchover (the longest time between two acknowledged
// writes of a writer that follows the primary, reconnecting when it must):
//
//	go test -run '^$' -bench TLSCost -benchtime 1x ./internal/data/postgres/
func BenchmarkTLSCost(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts labOptions
	}{{"sslmode=disable", labOptions{plain: true}}, {"sslmode=verify-full", labOptions{}}} {
		b.Run(mode.name+"/dr-lag/writes=1000/s", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l := newLabWith(b, mode.opts)
				ctx := testCtx(b, 3*time.Minute)
				l.bootstrap(ctx)
				measureDRLag(b, ctx, l, 1000).report(b)
			}
		})
		b.Run(mode.name+"/switchover", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l := newLabWith(b, mode.opts)
				ctx := testCtx(b, 4*time.Minute)
				l.bootstrap(ctx)
				pauses := switchoverPauses(b, ctx, l, 6)
				b.ReportMetric(float64(pauses[len(pauses)/2].Milliseconds()), "pause-p50-ms")
				b.ReportMetric(float64(pauses[len(pauses)-1].Milliseconds()), "pause-max-ms")
				b.Logf("%s: %d switchovers, write pauses %v", mode.name, len(pauses), pauses)
			}
		})
	}
}

// switchoverPauses switches the primary between east-0 and east-1 n times under a
// writer and returns each switchover's write pause, sorted.
func switchoverPauses(b *testing.B, ctx context.Context, l *lab, n int) []time.Duration {
	b.Helper()
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	w := &writer{l: l, targets: []string{"east-0", "east-1"}, byNode: map[string]int{}}
	wctx, stopWriter := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx) }()
	defer func() { stopWriter(); <-done }()
	var pauses []time.Duration
	to := "east-1"
	for i := 0; i < n; i++ {
		from := map[string]string{"east-0": "east-1", "east-1": "east-0"}[to]
		waitFor(b, ctx, from+" primary, "+to+" synchronous, writes flowing", func() (bool, string) {
			st := l.status(ctx)
			m := st.Member(to)
			return st.Primary == from && m.Sync && m.State == data.StateStreaming && w.count(from) > 0, fmt.Sprintf("%+v", st.Members)
		})
		start := w.count(to)
		w.resetGap()
		if _, err := l.drv.Switchover(ctx, to, 0); err != nil {
			b.Fatalf("switchover to %s: %v", to, err)
		}
		waitFor(b, ctx, "100 writes on "+to, func() (bool, string) { return w.count(to) >= start+100, "" })
		pauses = append(pauses, w.gap().Round(time.Millisecond))
		to = from
	}
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	return pauses
}
