package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/pgserver"
)

// writer inserts increasing sequence numbers into seq(n) on whichever in-region member
// accepts them, and remembers which inserts were acknowledged.
type writer struct {
	l       *lab
	targets []string
	mu      sync.Mutex
	acked   []int64
	byNode  map[string]int
	// firstAck is when each target first acknowledged a write (nil: not recorded).
	firstAck map[string]time.Time
	// lastAck is when the last write was acknowledged, and maxGap the longest time
	// between two acknowledgements since resetGap: a switchover's write pause.
	lastAck time.Time
	maxGap  time.Duration
}

// resetGap starts measuring the longest pause between acknowledged writes afresh.
func (w *writer) resetGap() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxGap = 0
}

func (w *writer) gap() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxGap
}

func (w *writer) run(ctx context.Context) {
	var conn *pgx.Conn
	cur := 0
	for n := int64(1); ctx.Err() == nil; n++ {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := pgx.Connect(cctx, w.l.dsn(w.targets[cur]))
			cancel()
			if err != nil {
				cur = (cur + 1) % len(w.targets)
				pause(ctx, 20*time.Millisecond)
				continue
			}
			conn = c
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := conn.Exec(ictx, `insert into seq (n) values ($1)`, n)
		cancel()
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			cur = (cur + 1) % len(w.targets)
			continue
		}
		w.mu.Lock()
		now := time.Now()
		if !w.lastAck.IsZero() && now.Sub(w.lastAck) > w.maxGap {
			w.maxGap = now.Sub(w.lastAck)
		}
		w.lastAck = now
		w.acked = append(w.acked, n)
		w.byNode[w.targets[cur]]++
		if _, ok := w.firstAck[w.targets[cur]]; !ok && w.firstAck != nil {
			w.firstAck[w.targets[cur]] = time.Now()
		}
		w.mu.Unlock()
	}
	if conn != nil {
		conn.Close(context.Background())
	}
}

// pause waits d or until ctx ends; the writer's back-off, not a test synchronisation.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (w *writer) first(node string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstAck[node]
}

func (w *writer) count(node string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byNode[node]
}

// missing returns the acknowledged sequence numbers that member does not have.
func (l *lab) missing(ctx context.Context, member string, acked []int64) ([]int64, error) {
	c, err := pgx.Connect(ctx, l.dsn(member))
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `select a from unnest($1::bigint[]) a where not exists (select 1 from seq where n = a)`, acked)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (l *lab) exec(ctx context.Context, member, sql string) {
	l.t.Helper()
	c, err := pgx.Connect(ctx, l.dsn(member))
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		l.t.Fatal(err)
	}
}

// waitFor polls cond every 100ms until it holds or ctx ends.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last: %s)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestFailoverUnderLoadThenOldPrimaryRewinds(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)

	var actions []string
	var amu sync.Mutex
	mon := &monitor.Monitor{
		Driver: l.drv, Interval: 200 * time.Millisecond, Config: monitor.Config{FailAfter: 3},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnAction: func(a monitor.Action, err error) {
			amu.Lock()
			defer amu.Unlock()
			actions = append(actions, fmt.Sprintf("%s %s err=%v", a.Kind, a.Member, err))
		},
	}
	mctx, stopMon := context.WithCancel(ctx)
	defer stopMon()
	go mon.Run(mctx)

	w := &writer{l: l, targets: []string{"east-0", "east-1"}, byNode: map[string]int{}}
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx) }()
	waitFor(t, ctx, "writes on east-0", func() (bool, string) { return w.count("east-0") >= 200, "" })
	// The promotion without loss needs the monitor to have seen east-1 synchronous;
	// on a loaded machine the first writes can come before that.
	waitFor(t, ctx, "the monitor knows east-1 is synchronous", func() (bool, string) {
		m := mon.Remembered()
		return m.Primary == "east-0" && m.Sync == "east-1", fmt.Sprintf("%+v", m)
	})

	before := inode(t, l.member("east-0").DataDir)
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "writes accepted by east-1", func() (bool, string) { return w.count("east-1") >= 200, fmt.Sprint(actions) })
	stopWriter()
	wg.Wait()

	missing, err := l.missing(ctx, "east-1", w.acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged writes lost by the in-region failover, first %v", len(missing), missing[:min(5, len(missing))])
	}
	t.Logf("acknowledged: %d on east-0, %d on east-1; actions: %v", w.count("east-0"), w.count("east-1"), actions)

	// The DR member follows the new primary.
	waitFor(t, ctx, "west-0 following east-1", func() (bool, string) {
		st, err := l.drv.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		m := st.Member("west-0")
		return m.Upstream == "east-1" && m.State == data.StateStreaming, fmt.Sprintf("%+v", *m)
	})

	// The old primary comes back (accepting writes on the old timeline): the monitor
	// fences it and rejoins it through pg_rewind.
	if err := pgserver.Start(ctx, l.member("east-0").DataDir, l.member("east-0").Address.Address); err != nil {
		// The monitor may see it accepting writes and stop it to rewind it before
		// pg_ctl's own wait for the start is over; the wait below decides.
		t.Logf("start east-0: %v", err)
	}
	waitFor(t, ctx, "east-0 streaming from east-1", func() (bool, string) {
		st, err := l.drv.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		m := st.Member("east-0")
		return !m.Primary && m.Upstream == "east-1" && m.State == data.StateStreaming && m.Sync,
			fmt.Sprintf("%+v actions=%v", *m, actions)
	})
	stopMon()
	v, err := l.drv.Verify(ctx)
	if err != nil || !v.OK() {
		t.Fatalf("verify after rejoin: %+v %v", v, err)
	}
	missing, err = l.missing(ctx, "east-0", w.acked)
	if err != nil || len(missing) > 0 {
		t.Fatalf("rejoined east-0 misses %d acknowledged writes (%v)", len(missing), err)
	}
	// pg_rewind works in place; a fresh clone would have replaced the directory.
	if after := inode(t, l.member("east-0").DataDir); after != before {
		t.Fatalf("east-0 was cloned afresh (data directory replaced), not rewound")
	}
}

func inode(t testing.TB, path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// TestResumeNeverStartsAStalePrimary: east-0 dies, east-1 is promoted, and when east-0
// is resumed it comes back as a standby of east-1, never accepting writes.
func TestResumeNeverStartsAStalePrimary(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	l.insert(ctx, "east-0", 1, 100)
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := data.Failover(ctx, l.drv, "east-1", data.FailoverOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.drv.Resume(ctx, "east-0"); err != nil {
		t.Fatal(err)
	}
	st := l.status(ctx)
	if e0 := st.Member("east-0"); e0.Primary || e0.Upstream != "east-1" || e0.State != data.StateStreaming {
		t.Fatalf("resumed east-0: %+v", *e0)
	}
	if n := l.count(ctx, "east-0"); n != 100 {
		t.Fatalf("east-0 has %d rows, want 100", n)
	}
}
