package postgres

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

// The data-loss modes' promises on real PostgreSQL, across the lab's 35 ms link
// (docs/design/data-loss-modes.md).

func boundedLoss(d time.Duration) v1alpha1.DataLoss {
	return v1alpha1.DataLoss{Mode: v1alpha1.DataLossBounded, Bound: &metav1.Duration{Duration: d}}
}

var synchronousLoss = v1alpha1.DataLoss{Mode: v1alpha1.DataLossSynchronous}

// runKeeper runs the bound keeper against member, starting it again whenever it
// ends, until stop is called (stop waits until it has ended).
func (l *lab) runKeeper(ctx context.Context, member string) (stop func()) {
	stop, _ = l.watchKeeper(ctx, member)
	return stop
}

// watchKeeper is runKeeper that also says whether the keeper holds commits now, as
// it decides (its OnHold): the test's way to know that the bound has passed for the
// oldest write the DR member has not confirmed, without guessing at a time.
func (l *lab) watchKeeper(ctx context.Context, member string) (stop func(), holding func() bool) {
	var holds atomic.Bool
	opts := KeeperOptions{OnHold: func(h bool, _ time.Duration) { holds.Store(h) }}
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for kctx.Err() == nil {
			if err := l.drv.KeepBound(kctx, member, opts); err != nil && kctx.Err() == nil {
				l.t.Logf("keeper: %v", err)
			}
			pause(kctx, 50*time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }, holds.Load
}

// ack is one acknowledged write: its sequence number, when it was sent and when the
// commit returned.
type ack struct {
	n        int64
	sent, at time.Time
}

// ackWriter inserts sequence numbers one after another into seq on one member, each
// with its own timeout; a write that times out is not acknowledged (pgx drops the
// session, so the server never tells it the commit happened).
type ackWriter struct {
	l       *lab
	member  string
	timeout time.Duration

	mu       sync.Mutex
	acked    []ack
	timeouts int
	next     int64
}

func (w *ackWriter) run(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for ctx.Err() == nil {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := pgx.Connect(cctx, w.l.dsn(w.member))
			cancel()
			if err != nil {
				pause(ctx, 20*time.Millisecond)
				continue
			}
			conn = c
		}
		w.mu.Lock()
		w.next++
		n := w.next
		w.mu.Unlock()
		ictx, cancel := context.WithTimeout(ctx, w.timeout)
		sent := time.Now()
		_, err := conn.Exec(ictx, `insert into seq (n) values ($1)`, n)
		cancel()
		now := time.Now()
		w.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				w.timeouts++
			}
			conn.Close(context.Background())
			conn = nil
		} else {
			w.acked = append(w.acked, ack{n: n, sent: sent, at: now})
		}
		w.mu.Unlock()
	}
}

func (w *ackWriter) snapshot() ([]ack, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ack(nil), w.acked...), w.timeouts
}

// start runs w until the returned stop is called.
func (w *ackWriter) start(ctx context.Context) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx) }()
	return func() { cancel(); <-done }
}

func ackedAfter(acks []ack, t time.Time) []ack {
	var out []ack
	for _, a := range acks {
		if a.at.After(t) {
			out = append(out, a)
		}
	}
	return out
}

// pastTheBound returns the acknowledged writes that the promise of mode bounded says
// cannot be, after a cut at cut: those sent more than bound after the first write
// sent after the cut was acknowledged. That write's WAL reached the bound keeper before
// its acknowledgement and never reached the DR member, so from then on the oldest WAL
// the DR member has not confirmed is at least that old; a write sent bound later
// reaches the keeper later still and is held. Only the order of events counts, not how
// long a commit took on a loaded machine.
func pastTheBound(acks []ack, cut time.Time, bound time.Duration) []ack {
	var first *ack
	for i := range acks {
		if acks[i].sent.After(cut) && (first == nil || acks[i].at.Before(first.at)) {
			first = &acks[i]
		}
	}
	if first == nil {
		return nil
	}
	var out []ack
	for _, a := range acks {
		if a.sent.After(first.at.Add(bound)) {
			out = append(out, a)
		}
	}
	return out
}

// lostSpan checks the promise on the writes lost: all were received by the keeper
// within bound of the first of them (the one it received first stayed unconfirmed),
// so the last one sent cannot have been sent more than bound after the earliest
// acknowledgement among them.
func lostSpan(lost []ack, bound time.Duration) error {
	if len(lost) == 0 {
		return nil
	}
	firstAck, lastSent := lost[0].at, lost[0].sent
	for _, a := range lost {
		if a.at.Before(firstAck) {
			firstAck = a.at
		}
		if a.sent.After(lastSent) {
			lastSent = a.sent
		}
	}
	if d := lastSent.Sub(firstAck); d > bound {
		return fmt.Errorf("%d acknowledged writes lost, the last sent %s after the first was acknowledged: more than the bound %s", len(lost), d.Round(time.Millisecond), bound)
	}
	return nil
}

func seqs(acks []ack) []int64 {
	out := make([]int64, len(acks))
	for i, a := range acks {
		out[i] = a.n
	}
	return out
}

// tryInsert inserts n on member within limit; an error means not acknowledged.
func (l *lab) tryInsert(ctx context.Context, member string, n int64, limit time.Duration) error {
	ictx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c, err := pgx.Connect(ictx, l.dsn(member))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ictx, `insert into seq (n) values ($1)`, n)
	return err
}

// Mode bounded: the primary never acknowledges a write that a lost region could take
// beyond the bound. Without a keeper commits wait (the keeper failing is safe); with
// one they flow; when the DR link is cut, acknowledgements stop within the bound and
// resume when it heals (a blip costs latency, not data); and when the region is lost
// with the link cut, the acknowledged writes missing on the promoted DR member are
// only those of the bound before the cut. Before modes existed the writes went on
// being acknowledged through the cut, and all of them were lost.
func TestBoundedModeNeverAcknowledgesPastTheBound(t *testing.T) {
	const bound = 200 * time.Millisecond
	l := newLabWith(t, labOptions{loss: boundedLoss(bound)})
	ctx := testCtx(t, 5*time.Minute)
	l.bootstrap(ctx)

	st := l.status(ctx)
	if p := st.Promise; p == nil || !p.InForce || p.Setting != `FIRST 2 ("hadron_bound", "east-1")` || !p.Holding || p.Keeper {
		t.Fatalf("after bootstrap, without a keeper: promise %+v", st.Promise)
	}
	stopKeeper := l.runKeeper(ctx, "east-0")
	l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)

	// The keeper gone: commits wait. Back: they flow.
	stopKeeper()
	if err := l.tryInsert(ctx, "east-0", -1, time.Second); err == nil {
		t.Fatal("a commit was acknowledged with no bound keeper streaming")
	}
	stopKeeper = l.runKeeper(ctx, "east-0")
	defer func() { stopKeeper() }()
	waitFor(t, ctx, "commits flow with the keeper back", func() (bool, string) {
		err := l.tryInsert(ctx, "east-0", -2, time.Second)
		return err == nil, fmt.Sprint(err)
	})
	waitFor(t, ctx, "promise in force, not holding", func() (bool, string) {
		p := l.status(ctx).Promise
		return p != nil && p.InForce && p.Keeper && !p.Holding, fmt.Sprintf("%+v", p)
	})

	w := &ackWriter{l: l, member: "east-0", timeout: 3 * time.Second}
	stopWriter := w.start(ctx)
	defer func() { stopWriter() }()
	waitFor(t, ctx, "writes", func() (bool, string) { a, _ := w.snapshot(); return len(a) >= 300, "" })

	// A cut DR link: acknowledgements stop within the bound.
	cut := time.Now()
	l.cut()
	cutDone := time.Now() // what is sent from now on cannot reach the DR member
	waitFor(t, ctx, "writes held", func() (bool, string) {
		_, timeouts := w.snapshot()
		return timeouts >= 1 && time.Since(cut) > 3*time.Second, ""
	})
	acks, _ := w.snapshot()
	t.Logf("cut: %d writes acknowledged after it, the last %s after it", len(ackedAfter(acks, cut)), lastAt(acks).Sub(cut).Round(time.Millisecond))
	if late := pastTheBound(acks, cutDone, bound); len(late) > 0 {
		t.Fatalf("%d writes acknowledged though sent more than the bound %s after the first write of the cut was acknowledged (first sent at +%s from the cut)", len(late), bound, late[0].sent.Sub(cut).Round(time.Millisecond))
	}
	if p := l.status(ctx).Promise; p == nil || !p.Holding {
		t.Fatalf("status while holding: promise %+v", p)
	}

	// The link back: the DR member catches up and writes are acknowledged again.
	healed := time.Now()
	l.heal()
	waitFor(t, ctx, "writes acknowledged again", func() (bool, string) {
		a, _ := w.snapshot()
		return len(ackedAfter(a, healed)) > 100, ""
	})
	t.Logf("healed: writes acknowledged again %s after", ackedAfter(acks2(w), healed)[0].at.Sub(healed).Round(time.Millisecond))

	// Cut again, and lose the region while the writes are held.
	waitFor(t, ctx, "west-0 streaming", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming, string(m.State)
	})
	cut = time.Now()
	l.cut()
	waitFor(t, ctx, "writes held", func() (bool, string) {
		_, timeouts := w.snapshot()
		return time.Since(cut) > time.Second, fmt.Sprint(timeouts)
	})
	for _, m := range []string{"east-0", "east-1"} {
		if err := pgserver.Kill(ctx, l.member(m).DataDir); err != nil {
			t.Fatal(err)
		}
	}
	stopWriter()
	stopKeeper()
	if _, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	acks, _ = w.snapshot()
	missing, err := l.missing(ctx, "west-0", seqs(acks))
	if err != nil {
		t.Fatal(err)
	}
	byN := map[int64]ack{}
	for _, a := range acks {
		byN[a.n] = a
	}
	var lost []ack
	for _, n := range missing {
		lost = append(lost, byN[n])
	}
	if len(lost) > 0 {
		sort.Slice(lost, func(i, j int) bool { return lost[i].at.Before(lost[j].at) })
		t.Logf("region lost: %d of %d acknowledged writes missing on west-0, acknowledged from %s to %s relative to the cut",
			len(lost), len(acks), lost[0].at.Sub(cut).Round(time.Millisecond), lost[len(lost)-1].at.Sub(cut).Round(time.Millisecond))
	}
	if err := lostSpan(lost, bound); err != nil {
		t.Fatal(err)
	}
}

func acks2(w *ackWriter) []ack { a, _ := w.snapshot(); return a }

func lastAt(acks []ack) time.Time {
	if len(acks) == 0 {
		return time.Time{}
	}
	return acks[len(acks)-1].at
}

// Mode synchronous: a commit needs the in-region failover member and the DR member, so
// the DR link cut means no acknowledgement at all, and losing the region then loses no
// acknowledged write. Before modes existed the DR member was asynchronous: the writes
// acknowledged after the cut were lost with the region.
func TestSynchronousModeLosesNothingWithTheRegion(t *testing.T) {
	l := newLabWith(t, labOptions{loss: synchronousLoss})
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	st := l.status(ctx)
	if p := st.Promise; p == nil || !p.InForce || p.Setting != `ANY 2 ("east-1", "west-0")` || p.Holding {
		t.Fatalf("after bootstrap: promise %+v", st.Promise)
	}
	if !st.Member("west-0").Sync || !st.Member("east-1").Sync {
		t.Fatalf("east-1 and west-0 must both be synchronous: %+v", st.Members)
	}
	l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)
	start := time.Now()
	if err := l.tryInsert(ctx, "east-0", -1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("one commit with a fresh session: %s", time.Since(start).Round(time.Millisecond))

	w := &ackWriter{l: l, member: "east-0", timeout: 3 * time.Second}
	stopWriter := w.start(ctx)
	defer func() { stopWriter() }()
	waitFor(t, ctx, "writes", func() (bool, string) { a, _ := w.snapshot(); return len(a) >= 30, "" })

	cut := time.Now()
	l.cut()
	cutDone := time.Now() // what is sent from now on cannot reach the DR member
	waitFor(t, ctx, "writes held", func() (bool, string) { _, timeouts := w.snapshot(); return timeouts >= 1, "" })
	acks, _ := w.snapshot()
	// A write sent after the cut needs west-0's flush, which cannot come; one sent
	// before may still be acknowledged (its WAL crossed before the cut).
	var late []ack
	for _, a := range acks {
		if a.sent.After(cutDone) {
			late = append(late, a)
		}
	}
	if len(late) > 0 {
		t.Fatalf("%d writes sent after the DR link was cut were acknowledged (first at +%s)", len(late), late[0].at.Sub(cut))
	}
	if p := l.status(ctx).Promise; p == nil || !p.InForce || !p.Holding {
		t.Fatalf("status with the DR member cut off: promise %+v", p)
	}
	for _, m := range []string{"east-0", "east-1"} {
		if err := pgserver.Kill(ctx, l.member(m).DataDir); err != nil {
			t.Fatal(err)
		}
	}
	stopWriter()
	if _, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	acks, _ = w.snapshot()
	missing, err := l.missing(ctx, "west-0", seqs(acks))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("region lost: %d acknowledged writes, %d missing on west-0", len(acks), len(missing))
	if len(missing) > 0 {
		t.Fatalf("mode synchronous lost %d acknowledged writes with the region: %v", len(missing), missing)
	}
}

// A member promoted in its old primary's region carries the promise on: its first
// commits already wait for the DR member, which confirms them once it follows it.
func TestSynchronousPromiseCarriesOverAnInRegionPromotion(t *testing.T) {
	l := newLabWith(t, labOptions{loss: synchronousLoss})
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		t.Fatal(err)
	}
	m := l.status(ctx).Member("east-1")
	if _, err := l.drv.Promote(ctx, "east-1", data.TokenFor(*m, 0)); err != nil {
		t.Fatal(err)
	}
	p := l.status(ctx).Promise
	if p == nil || p.Setting != `ANY 1 ("west-0")` || !p.InForce {
		t.Fatalf("east-1 promoted in east: promise %+v", p)
	}
	if err := l.tryInsert(ctx, "east-1", 1, 2*time.Second); err == nil {
		t.Fatal("east-1 acknowledged a commit before the DR member followed it")
	}
	if err := l.drv.Rejoin(ctx, "west-0"); err != nil {
		t.Fatal(err)
	}
	if err := l.tryInsert(ctx, "east-1", 2, 5*time.Second); err != nil {
		t.Fatalf("with west-0 following east-1: %v", err)
	}
	if n := l.count(ctx, "west-0"); n != 2 {
		t.Fatalf("west-0 has %d rows, want both commits", n)
	}
}

// Releasing a held promise lets commits through without the DR member; the promise
// comes back once the DR member streams within the bound again.
func TestBoundedReleaseAndRestore(t *testing.T) {
	// A bound of a second, not 200 ms: on a loaded machine (CI runs packages side by
	// side) the DR member's confirmed position was already 625 ms old when the link was
	// cut, and the first write, which the test needs inside the bound, was held.
	l := newLabWith(t, labOptions{loss: boundedLoss(time.Second)})
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	stopKeeper, holding := l.watchKeeper(ctx, "east-0")
	defer func() { stopKeeper() }()
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	waitFor(t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, fmt.Sprintf("%+v", *m)
	})
	l.cut()
	// The first write after the cut fits in the bound; once it is older than the bound
	// unconfirmed, nothing more is acknowledged.
	if err := l.tryInsert(ctx, "east-0", 1, time.Second); err != nil {
		t.Fatalf("the first write after the cut: %v", err)
	}
	waitFor(t, ctx, "the keeper holding", func() (bool, string) { return holding(), "" })
	if err := l.tryInsert(ctx, "east-0", 2, time.Second); err == nil {
		t.Fatal("a write acknowledged after the bound passed with the DR link cut")
	}
	if p := l.status(ctx).Promise; p == nil || !p.Holding || !p.Keeper {
		t.Fatalf("status while the keeper holds: promise %+v", p)
	}
	if err := l.drv.Release(ctx); err != nil {
		t.Fatal(err)
	}
	st := l.status(ctx)
	if p := st.Promise; p == nil || p.InForce || p.Holding || p.Restorable || p.Setting != `FIRST 1 ("east-1")` {
		t.Fatalf("released: promise %+v", p)
	}
	if err := l.tryInsert(ctx, "east-0", 3, time.Second); err != nil {
		t.Fatalf("released, a write: %v", err)
	}
	l.heal()
	waitFor(t, ctx, "the promise restorable", func() (bool, string) {
		p := l.status(ctx).Promise
		return p != nil && p.Restorable, fmt.Sprintf("%+v", p)
	})
	if err := l.drv.UpdateSync(ctx); err != nil {
		t.Fatal(err)
	}
	if p := l.status(ctx).Promise; p == nil || !p.InForce || p.Setting != `FIRST 2 ("hadron_bound", "east-1")` {
		t.Fatalf("restored: promise %+v", p)
	}
	if err := l.tryInsert(ctx, "east-0", 4, 2*time.Second); err != nil {
		t.Fatalf("restored, a write: %v", err)
	}
}

// A released promise lets writes through with the DR link still cut; when the region
// is then lost, what it took is more than the bound, and the failover reports all of
// it: the loss is recorded, never hidden (the ledger keeps what Failover returns).
func TestBoundedReleaseThenRegionLossIsCounted(t *testing.T) {
	l := newLabWith(t, labOptions{loss: boundedLoss(200 * time.Millisecond)})
	ctx := testCtx(t, 4*time.Minute)
	l.bootstrap(ctx)
	stopKeeper, holding := l.watchKeeper(ctx, "east-0")
	defer func() { stopKeeper() }()
	l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)
	l.insert(ctx, "east-0", 1, 100)
	waitFor(t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, fmt.Sprintf("%+v", *m)
	})
	l.cut()
	// Within the bound the first write is acknowledged; past it the next waits.
	if err := l.tryInsert(ctx, "east-0", 101, time.Second); err != nil {
		t.Fatalf("the first write after the cut: %v", err)
	}
	acked := []int64{101}
	waitFor(t, ctx, "the keeper holding", func() (bool, string) { return holding(), "" })
	if err := l.tryInsert(ctx, "east-0", 102, time.Second); err == nil {
		t.Fatal("a write acknowledged while the keeper holds")
	}
	if err := l.drv.Release(ctx); err != nil {
		t.Fatal(err)
	}
	// Released: 200 writes acknowledged with the DR link cut, well past the bound.
	for n := int64(103); n < 303; n++ {
		if err := l.tryInsert(ctx, "east-0", n, 2*time.Second); err != nil {
			t.Fatalf("released, write %d: %v", n, err)
		}
		acked = append(acked, n)
	}
	// The region is cut off and its primary fenced (its daemon), then the DR member
	// is promoted: the loss is counted on the fenced primary.
	if err := l.drv.Fence(ctx, "east-0", 0); err != nil {
		t.Fatal(err)
	}
	stopKeeper()
	res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	missing, err := l.missing(ctx, "west-0", acked)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("released, then the region lost: %d of %d acknowledged writes missing; reported %+v", len(missing), len(acked), *res.Loss)
	if len(missing) != len(acked) {
		t.Fatalf("%d of the %d writes acknowledged after the release are missing on west-0, want all (the link was cut)", len(missing), len(acked))
	}
	if !res.Loss.Counted || res.Loss.Transactions < int64(len(missing)) {
		t.Fatalf("reported loss %+v below the %d acknowledged writes missing", *res.Loss, len(missing))
	}
}
