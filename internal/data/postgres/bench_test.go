package postgres

// Measurements of the mirror set on real PostgreSQL 15 over a 35 ms (each way)
// link (netlink). They are benchmarks, not tests: run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/data/postgres/
//
// and read the custom metrics each one reports.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
)

// BenchmarkDRLag runs pgbench at a fixed rate of single-insert transactions on the
// primary for 15 s and samples the DR member's lag every 250 ms.
func BenchmarkDRLag(b *testing.B) {
	for _, rate := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("writes=%d/s", rate), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l := newLab(b)
				ctx := testCtx(b, 3*time.Minute)
				l.bootstrap(ctx)
				measureDRLag(b, ctx, l, rate).report(b)
			}
		})
	}
}

// drLag is what measureDRLag saw.
type drLag struct {
	tps, commitMs            float64
	bytes, secs              []float64
	lagP50Bytes, lagP99Bytes float64
	lagP50Ms, lagP99Ms, rate float64
}

func (r drLag) report(b *testing.B) {
	b.ReportMetric(r.tps, "tps")
	b.ReportMetric(r.commitMs, "commit-ms")
	b.ReportMetric(r.lagP50Bytes, "lag-p50-bytes")
	b.ReportMetric(r.lagP99Bytes, "lag-p99-bytes")
	b.ReportMetric(r.lagP50Ms, "lag-p50-ms")
	b.ReportMetric(r.lagP99Ms, "lag-p99-ms")
	b.Logf("rate %.0f/s: pgbench tps %.0f, commit latency %.2f ms, %d lag samples, lag p50 %.0f ms p99 %.0f ms",
		r.rate, r.tps, r.commitMs, len(r.bytes), r.lagP50Ms, r.lagP99Ms)
}

// measureDRLag runs pgbench (16 clients) at rate single-insert transactions a second
// on the primary for 15 s, over the lab's TLS settings, and samples west-0's lag
// every 250 ms.
func measureDRLag(b *testing.B, ctx context.Context, l *lab, rate int) drLag {
	b.Helper()
	l.exec(ctx, "east-0", `create table lagload (id bigserial primary key, v int, at timestamptz default now())`)
	waitFor(b, ctx, "west-0 caught up before the load", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, ""
	})
	var r drLag
	r.rate = float64(rate)
	out := insertLoad(b, ctx, l, "lagload", 16, rate, func(ctx context.Context) {
		if st, err := l.drv.Status(ctx); err == nil {
			if m := st.Member("west-0"); m != nil && m.Reachable {
				r.bytes = append(r.bytes, float64(m.LagBytes))
				r.secs = append(r.secs, m.LagSeconds)
			}
		}
	})
	r.tps = parseFloat(regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out))
	r.commitMs = parseFloat(regexp.MustCompile(`latency average = ([0-9.]+) ms`).FindSubmatch(out))
	r.lagP50Bytes, r.lagP99Bytes = pct(r.bytes, 50), pct(r.bytes, 99)
	r.lagP50Ms, r.lagP99Ms = pct(r.secs, 50)*1000, pct(r.secs, 99)*1000
	return r
}

// insertLoad runs pgbench with clients connections at rate single-row inserts a second
// into table on east-0 for 15 s, over the lab's TLS settings, and calls sample every
// 250 ms meanwhile (and once at the start). It returns pgbench's output.
func insertLoad(b *testing.B, ctx context.Context, l *lab, table string, clients, rate int, sample func(context.Context)) []byte {
	b.Helper()
	pgbench := testenv.LookPath(b, "/usr/lib/postgresql/15/bin/pgbench", "pgbench")
	script := filepath.Join(b.TempDir(), "insert.sql")
	if err := os.WriteFile(script, []byte("insert into "+table+" (v) values (1);\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for sctx.Err() == nil {
			sample(sctx)
			select {
			case <-sctx.Done():
			case <-t.C:
			}
		}
	}()
	port := strings.Split(l.member("east-0").Address.Address, ":")[1]
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-h", "127.0.0.1", "-p", port, "-U", "hadron",
		"-c", strconv.Itoa(clients), "-j", "2", "-R", strconv.Itoa(rate), "-T", "15", "-f", script, "orders")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+testPassword, "PGSSLMODE=disable")
	if l.caFile != "" {
		cmd.Env = append(os.Environ(), "PGPASSWORD="+testPassword, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+l.caFile)
	}
	out, err := cmd.CombinedOutput()
	stop()
	wg.Wait()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	return out
}

// BenchmarkInRegionFailover kills the primary under a write load and measures the time
// from the kill to the first write the failover member accepts, with the local monitor
// observing every 200 ms and promoting after 3 observations without a primary.
func BenchmarkInRegionFailover(b *testing.B) {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		l := newLab(b)
		ctx := testCtx(b, 3*time.Minute)
		l.bootstrap(ctx)
		l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
		mon := &monitor.Monitor{Driver: l.drv, Interval: 200 * time.Millisecond, Config: monitor.Config{FailAfter: 3}}
		mctx, stopMon := context.WithCancel(ctx)
		go mon.Run(mctx)
		w := &writer{l: l, targets: []string{"east-0", "east-1"}, byNode: map[string]int{}, firstAck: map[string]time.Time{}}
		wctx, stopWriter := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.run(wctx) }()
		waitFor(b, ctx, "writes on east-0", func() (bool, string) { return w.count("east-0") >= 200, "" })
		killed := time.Now()
		if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ctx, "a write accepted by east-1", func() (bool, string) { return w.count("east-1") > 0, "" })
		stopWriter()
		<-done
		stopMon()
		took := w.first("east-1").Sub(killed)
		total += took
		missing, err := l.missing(ctx, "east-1", w.acked)
		if err != nil || len(missing) > 0 {
			b.Fatalf("lost %d acknowledged writes (%v)", len(missing), err)
		}
		b.Logf("kill → first accepted write on east-1: %s (%d acknowledged writes, none lost)", took.Round(time.Millisecond), len(w.acked))
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "failover-ms")
}

// BenchmarkForcedDRPromotionLoss runs a write load of sequence numbers on the primary,
// cuts the cross-region link under that load, lets 1000 more writes commit, and promotes the DR member with
// --force semantics while the load still runs. It compares the loss the driver
// reports with the loss counted by sequence numbers (acknowledged on the old primary,
// absent on the promoted member).
func BenchmarkForcedDRPromotionLoss(b *testing.B) {
	for i := 0; i < b.N; i++ {
		l := newLab(b)
		ctx := testCtx(b, 3*time.Minute)
		l.bootstrap(ctx)
		l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)
		w := &writer{l: l, targets: []string{"east-0"}, byNode: map[string]int{}, firstAck: map[string]time.Time{}}
		wctx, stopWriter := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.run(wctx) }()
		waitFor(b, ctx, "writes", func() (bool, string) { return w.count("east-0") >= 500, "" })
		l.cut()
		cutAt := w.count("east-0")
		waitFor(b, ctx, "1000 writes behind the cut", func() (bool, string) {
			return time.Since(w.first("east-0")) > 0 && w.count("east-0") > cutAt+1000, ""
		})
		res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
		stopWriter()
		<-done
		if err != nil {
			b.Fatal(err)
		}
		missing, err := l.missing(ctx, "west-0", w.acked)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Loss.Bytes), "reported-bytes")
		b.ReportMetric(float64(res.Loss.Transactions), "reported-txns")
		b.ReportMetric(float64(len(missing)), "counted-txns")
		b.Logf("acknowledged %d writes; reported loss %d bytes, %d transactions (%s); sequence numbers missing on west-0: %d",
			len(w.acked), res.Loss.Bytes, res.Loss.Transactions, res.Loss.Method, len(missing))
		if res.Loss.Transactions != int64(len(missing)) {
			b.Errorf("reported %d lost transactions, sequence numbers say %d", res.Loss.Transactions, len(missing))
		}
	}
}

func parseFloat(m [][]byte) float64 {
	if len(m) < 2 {
		return 0
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return f
}

func pct(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
