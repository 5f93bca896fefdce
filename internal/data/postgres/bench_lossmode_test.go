package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

// BenchmarkDataLossModes runs, in one run, the two ways a region is lost — cut off
// (the DR link cut while the primary's site keeps writing until its daemon fences it)
// and killed — at 1,000 writes/s of sequence numbers, for each data-loss mode, and
// prints what each lost and what its commits cost:
//
//	go test -run '^$' -bench DataLossModes -benchtime 1x ./internal/data/postgres/
//
// acked-lost counts the sequence numbers the writers saw acknowledged that are missing
// on the promoted DR member; reported is the loss the ledger records (the commit
// records counted on the old primary: with pg_walinspect after the fence when it is
// cut off, from its WAL when it is rewound after a kill); latency is the commit latency
// of the writes before the fault, and it and the commits per second as ratios to
// async's in the same run (the machine's speed cancels out; absolute figures do not
// travel).
func BenchmarkDataLossModes(b *testing.B) {
	modes := []struct {
		name string
		loss v1alpha1.DataLoss
	}{
		{"async", v1alpha1.DataLoss{Mode: v1alpha1.DataLossAsync}},
		{"bounded-200ms", boundedLoss(200 * time.Millisecond)},
		{"synchronous", synchronousLoss},
	}
	// Enough sessions for 1,000 writes/s at one cross-region round trip each.
	old := pgserver.DefaultSettings["max_connections"]
	pgserver.DefaultSettings["max_connections"] = "400"
	defer func() { pgserver.DefaultSettings["max_connections"] = old }()
	var results []lossRun
	// Scenario by scenario, the modes one after another: on a shared machine the load
	// drifts, and this way it drifts under every mode alike.
	for _, sc := range []string{"partition", "region-kill"} {
		for _, m := range modes {
			b.Run(m.name+"/"+sc, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					r := runLossScenario(b, m.loss, sc)
					r.mode = m.name
					results = append(results, r)
					b.ReportMetric(float64(r.ackedLost), "acked-lost")
					b.ReportMetric(float64(r.reported), "reported-txns")
					b.ReportMetric(ms(r.p50), "commit-p50-ms")
					b.ReportMetric(ms(r.p99), "commit-p99-ms")
				}
			})
		}
	}
	if len(results) > 0 {
		// Printed, not logged: a parent benchmark's log is not shown.
		fmt.Printf("\ndata-loss modes, 1,000 writes/s across a 35 ms link:\n%s", lossTable(results))
		fmt.Printf("\ncommit cost per mode, both scenarios' commits before the fault pooled:\n%s", costTable(results))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lossRun is one mode's run of one scenario.
type lossRun struct {
	mode, scenario          string
	acked, ackedLost        int
	reported                int64
	reportedBytes           int64
	window                  time.Duration
	p50, p99                time.Duration
	commits                 int
	lat                     []time.Duration // the commits' latencies before the fault
	lostFrom, lostTo        time.Duration   // acknowledgement times of the lost writes, from the fault
	lastAck, dropped, fails int
	rate                    float64
	// cutTook is how long cutting the links took; fencedAt when the old primary was
	// fenced (partition) or both east members were dead (kill), from the fault.
	cutTook, fencedAt time.Duration
}

// selfFenceAt is when the daemon of a site cut off from the majority has fenced its
// primary: 2 s without a majority (coord.DefaultFenceAfter) checked every 500 ms; the
// lab measured 2.4 s (issue 14).
const selfFenceAt = 2400 * time.Millisecond

func runLossScenario(b *testing.B, loss v1alpha1.DataLoss, scenario string) lossRun {
	b.Helper()
	l := newLabWith(b, labOptions{loss: loss})
	ctx := testCtx(b, 5*time.Minute)
	l.bootstrap(ctx)
	stopKeeper := func() {}
	if loss.Mode == v1alpha1.DataLossBounded {
		stopKeeper = l.runKeeper(ctx, "east-0")
	}
	defer func() { stopKeeper() }()
	l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)
	waitFor(b, ctx, "west-0 streaming", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming, string(m.State)
	})
	ld := &paced{l: l, member: "east-0", rate: 1000, workers: 250}
	// Sessions are opened one after another before the load starts: hundreds of TLS
	// and SCRAM handshakes at once starve a small machine into connect timeouts.
	if err := ld.open(ctx); err != nil {
		b.Fatal(err)
	}
	lctx, stopLoad := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ld.run(lctx) }()
	defer func() { stopLoad(); <-done }()
	// Warm up for 2 s, then measure commit latency and the rate achieved for 5 s.
	time.Sleep(2 * time.Second)
	ld.measure(true)
	time.Sleep(5 * time.Second)
	ld.measure(false)

	r := lossRun{scenario: scenario, rate: 1000}
	var fault time.Time
	var reported data.Loss
	switch scenario {
	case "partition":
		fault = time.Now()
		l.cut()
		r.cutTook = time.Since(fault)
		time.Sleep(time.Until(fault.Add(selfFenceAt)))
		if err := l.drv.Fence(ctx, "east-0", 0); err != nil { // the site's daemon, no leadership
			b.Fatal(err)
		}
		r.fencedAt = time.Since(fault)
		// Its clients now fail there (DNS sends the next ones to west).
		stopLoad()
		<-done
		stopKeeper()
		res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true, Logger: l.drv.log})
		if err != nil {
			b.Fatal(err)
		}
		reported = *res.Loss
		// The count reads the fenced primary's WAL; a storm of refused clients can
		// delay a new session past the connect timeout, as the leader's retry would.
		for i := 0; !reported.Counted && i < 30; i++ {
			time.Sleep(time.Second)
			if c, err := l.drv.CountLoss(ctx, "east-0", reported.From, reported.To); err == nil {
				reported = c
			}
		}
	case "region-kill":
		// The region goes at once, its network with it: what was still on the way out
		// of it (in the link's queue) does not arrive either.
		fault = time.Now()
		l.cut()
		r.cutTook = time.Since(fault)
		for _, m := range []string{"east-0", "east-1"} {
			if err := pgserver.Kill(ctx, l.member(m).DataDir); err != nil {
				b.Fatal(err)
			}
		}
		r.fencedAt = time.Since(fault)
		stopLoad()
		<-done
		stopKeeper()
		if _, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		// What the ledger completes the RPO with: the commits of the old primary's WAL
		// past the fork, counted before it is rewound (countDiscarded).
		// A fresh promotion writes its timeline to the control file at its first
		// checkpoint; a rejoin asks for one before it counts and rewinds.
		l.exec(ctx, "west-0", `checkpoint`)
		disc, err := l.drv.discarded(ctx, l.member("east-0"), l.member("west-0"))
		if err != nil || disc == nil {
			b.Fatalf("count the killed primary's WAL past the fork: %v (%+v)", err, disc)
		}
		reported = data.Loss{Transactions: disc.Transactions, Bytes: disc.Bytes, Counted: true}
	}
	acked := ld.ackedSeqs()
	missing, err := l.missing(ctx, "west-0", seqs(acked))
	if err != nil {
		b.Fatal(err)
	}
	at := map[int64]time.Time{}
	for _, a := range acked {
		at[a.n] = a.at
	}
	for i, n := range missing {
		d := at[n].Sub(fault)
		if i == 0 || d < r.lostFrom {
			r.lostFrom = d
		}
		if i == 0 || d > r.lostTo {
			r.lostTo = d
		}
	}
	r.acked, r.ackedLost = len(acked), len(missing)
	r.reported, r.reportedBytes, r.window = reported.Transactions, reported.Bytes, reported.Window
	r.p50, r.p99, r.commits = ld.percentiles()
	r.lat = ld.latencies()
	r.dropped, r.fails = ld.counts()
	b.Logf("%s, %s: the link cut in %s, east fenced or dead at +%s; %d acknowledged, %d of them missing on west-0 (acknowledged %s to %s from the fault); reported %d transactions (%d bytes); commit p50 %s p99 %s over %d commits; %d writes not sent (all sessions waiting), %d failed",
		loss.String(), scenario, r.cutTook.Round(time.Millisecond), r.fencedAt.Round(time.Millisecond), r.acked, r.ackedLost, r.lostFrom.Round(time.Millisecond), r.lostTo.Round(time.Millisecond),
		r.reported, r.reportedBytes, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.commits, r.dropped, r.fails)
	if loss.EffectiveMode() == v1alpha1.DataLossBounded {
		byN := map[int64]ack{}
		for _, a := range acked {
			byN[a.n] = a
		}
		var lost []ack
		for _, n := range missing {
			lost = append(lost, byN[n])
		}
		if err := lostSpan(lost, loss.Bound.Duration); err != nil {
			b.Error(err)
		}
	}
	if loss.EffectiveMode() == v1alpha1.DataLossSynchronous && r.ackedLost > 0 {
		b.Errorf("mode synchronous lost %d acknowledged writes", r.ackedLost)
	}
	if r.reported < int64(r.ackedLost) {
		b.Errorf("reported loss %d below the %d acknowledged writes missing", r.reported, r.ackedLost)
	}
	return r
}

// lossTable is the runs side by side, with latency ratios to async's.
func lossTable(rs []lossRun) string {
	base := map[string]lossRun{}
	for _, r := range rs {
		if r.mode == "async" {
			base[r.scenario] = r
		}
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "mode\tscenario\tacked\tacked-lost\treported\tlost acked from..to\teast out at\tcommits/s\tp50\tp99\tp50/async\tp99/async\tcommits/s/async\t")
	for _, r := range rs {
		a := base[r.scenario]
		ratio := func(x, y time.Duration) string {
			if y == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1fx", float64(x)/float64(y))
		}
		span := "-"
		if r.ackedLost > 0 {
			span = fmt.Sprintf("%s..%s", r.lostFrom.Round(time.Millisecond), r.lostTo.Round(time.Millisecond))
		}
		tput := "-"
		if a.commits > 0 {
			tput = fmt.Sprintf("%.2fx", float64(r.commits)/float64(a.commits))
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t+%s\t%d\t%.1fms\t%.1fms\t%s\t%s\t%s\t\n", r.mode, r.scenario, r.acked, r.ackedLost, r.reported, span,
			r.fencedAt.Round(time.Millisecond), r.commits/5, ms(r.p50), ms(r.p99), ratio(r.p50, a.p50), ratio(r.p99, a.p99), tput)
	}
	w.Flush()
	return sb.String()
}

// costTable is each mode's commit latency and rate with both scenarios' measured
// commits pooled (10 s each), as ratios to async's: one figure per mode, less at the
// mercy of one noisy 5 s window than the per-run ratios.
func costTable(rs []lossRun) string {
	type pooled struct {
		lat     []time.Duration
		windows int
	}
	var order []string
	by := map[string]*pooled{}
	for _, r := range rs {
		p := by[r.mode]
		if p == nil {
			p = &pooled{}
			by[r.mode] = p
			order = append(order, r.mode)
		}
		p.lat = append(p.lat, r.lat...)
		p.windows++
	}
	var a50, a99 time.Duration
	var an int
	if a := by["async"]; a != nil {
		a50, a99, an = percentiles(a.lat)
		an /= max(a.windows, 1)
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "mode\tcommits\tp50\tp99\tp50/async\tp99/async\tcommits/s/async\t")
	for _, m := range order {
		p := by[m]
		p50, p99, n := percentiles(p.lat)
		per := n / max(p.windows, 1)
		ratio := func(x, y time.Duration) string {
			if y == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1fx", float64(x)/float64(y))
		}
		tput := "-"
		if an > 0 {
			tput = fmt.Sprintf("%.2fx", float64(per)/float64(an))
		}
		fmt.Fprintf(w, "%s\t%d\t%.1fms\t%.1fms\t%s\t%s\t%s\t\n", m, n, ms(p50), ms(p99), ratio(p50, a50), ratio(p99, a99), tput)
	}
	w.Flush()
	return sb.String()
}

// paced writes sequence numbers at rate per second through a pool of sessions, one
// insert (one transaction) each; a number due while every session waits and a second's
// worth are queued is not sent.
type paced struct {
	l       *lab
	member  string
	rate    int
	workers int

	mu        sync.Mutex
	acked     []ack
	lat       []time.Duration
	measuring bool
	dropped   int
	fails     int
	// pool is the sessions open opened, one per worker.
	pool []*pgx.Conn
}

func (p *paced) measure(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.measuring = on
}

// open connects the sessions, one after another.
func (p *paced) open(ctx context.Context) error {
	for len(p.pool) < p.workers {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		c, err := pgx.Connect(cctx, p.l.dsn(p.member))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%d sessions open: %w", len(p.pool), err)
			}
			pause(ctx, time.Second)
			continue
		}
		p.pool = append(p.pool, c)
	}
	return nil
}

func (p *paced) run(ctx context.Context) {
	jobs := make(chan int64, p.rate) // up to a second behind before a write is not sent
	var wg sync.WaitGroup
	for i := 0; i < p.workers; i++ {
		wg.Add(1)
		var c *pgx.Conn
		if i < len(p.pool) {
			c = p.pool[i]
		}
		go func() { defer wg.Done(); p.worker(ctx, jobs, c) }()
	}
	start := time.Now()
	var n int64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		due := int64(time.Since(start).Seconds() * float64(p.rate))
		for n < due && ctx.Err() == nil {
			n++
			select {
			case jobs <- n:
			default:
				p.mu.Lock()
				p.dropped++
				p.mu.Unlock()
			}
		}
	}
	close(jobs)
	wg.Wait()
}

func (p *paced) worker(ctx context.Context, jobs <-chan int64, conn *pgx.Conn) {
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	connect := func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, p.l.dsn(p.member))
		cancel()
		if err != nil {
			p.mu.Lock()
			p.fails++
			p.mu.Unlock()
			pause(ctx, 500*time.Millisecond) // a client's back-off, not a reconnect storm
			return false
		}
		conn = c
		return true
	}
	for n := range jobs {
		if ctx.Err() != nil {
			continue
		}
		if conn == nil && !connect() {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		t0 := time.Now()
		_, err := conn.Exec(ictx, `insert into seq (n) values ($1)`, n)
		took := time.Since(t0)
		cancel()
		now := time.Now()
		p.mu.Lock()
		if err != nil {
			p.fails++
			conn.Close(context.Background())
			conn = nil
			p.mu.Unlock()
			pause(ctx, 500*time.Millisecond)
			continue
		} else {
			p.acked = append(p.acked, ack{n: n, sent: t0, at: now})
			if p.measuring {
				p.lat = append(p.lat, took)
			}
		}
		p.mu.Unlock()
	}
}

func (p *paced) ackedSeqs() []ack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ack(nil), p.acked...)
}

func (p *paced) counts() (dropped, fails int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped, p.fails
}

func (p *paced) latencies() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.lat...)
}

func (p *paced) percentiles() (p50, p99 time.Duration, n int) {
	return percentiles(p.latencies())
}

func percentiles(s []time.Duration) (p50, p99 time.Duration, n int) {
	if len(s) == 0 {
		return 0, 0, 0
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)], len(s)
}
