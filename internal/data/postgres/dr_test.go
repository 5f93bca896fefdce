package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

func (l *lab) count(ctx context.Context, member string) int64 {
	l.t.Helper()
	c, err := pgx.Connect(ctx, l.dsn(member))
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, `select count(*) from seq`).Scan(&n); err != nil {
		l.t.Fatal(err)
	}
	return n
}

func (l *lab) insert(ctx context.Context, member string, from, to int64) {
	l.t.Helper()
	c, err := pgx.Connect(ctx, l.dsn(member))
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close(ctx)
	for n := from; n <= to; n++ { // one transaction each, as an application commits
		if _, err := c.Exec(ctx, `insert into seq (n) values ($1)`, n); err != nil {
			l.t.Fatal(err)
		}
	}
}

func (l *lab) status(ctx context.Context) *data.SetStatus {
	l.t.Helper()
	st, err := l.drv.Status(ctx)
	if err != nil {
		l.t.Fatal(err)
	}
	return st
}

func TestCutLinkShowsGrowingLagThenCatchesUp(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	waitFor(t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, fmt.Sprintf("%+v", *m)
	})

	l.cut()
	l.insert(ctx, "east-0", 1, 200)
	var first *data.MemberStatus
	waitFor(t, ctx, "west-0 disconnected with growing lag", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		if m.State != data.StateDisconnected || m.LagBytes == 0 {
			return false, fmt.Sprintf("%+v", *m)
		}
		if first == nil {
			first = m
			return false, "first observation"
		}
		return m.LagSeconds > first.LagSeconds && m.LagBytes >= first.LagBytes, fmt.Sprintf("%+v then %+v", *first, *m)
	})
	if st := l.status(ctx); st.Member("east-1").State != data.StateStreaming || st.Primary != "east-0" {
		t.Fatalf("the in-region members suffered from the cut: %+v", st)
	}

	l.heal()
	waitFor(t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, fmt.Sprintf("%+v", *m)
	})
	if n := l.count(ctx, "west-0"); n != 200 {
		t.Fatalf("west-0 has %d rows after catching up, want 200", n)
	}
}

func TestDRPromotionNeedsForceAndCountsItsLoss(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.seqShipped(ctx, 100)

	l.cut()
	l.insert(ctx, "east-0", 101, 400)
	waitFor(t, ctx, "west-0 disconnected", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateDisconnected, fmt.Sprintf("%+v", *m)
	})

	// Without --force: refused, the loss stated, nothing changed.
	_, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{})
	var le *data.LossError
	if !errors.As(err, &le) || le.Loss.Bytes <= 0 {
		t.Fatalf("unforced DR promotion: err = %v, want a LossError with bytes", err)
	}
	t.Logf("refused: %v", err)
	st := l.status(ctx)
	if st.Primary != "east-0" || st.Member("east-0").State != data.StatePrimary || st.Member("west-0").Primary {
		t.Fatalf("a refused promotion changed the set: %+v", st.Members)
	}

	res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	lost := l.count(ctx, "east-0") - l.count(ctx, "west-0")
	t.Logf("forced: loss %+v; sequence numbers lost: %d", *res.Loss, lost)
	if !res.Loss.Counted || res.Loss.Transactions != lost || lost != 300 {
		t.Fatalf("reported loss %+v, counted by sequence numbers %d (want 300)", *res.Loss, lost)
	}
	if res.Loss.Bytes < le.Loss.Bytes {
		t.Fatalf("loss bytes %d below the estimate %d", res.Loss.Bytes, le.Loss.Bytes)
	}
	st = l.status(ctx)
	if st.Primary != "west-0" || st.Member("east-0").State != data.StateFenced || st.Member("west-0").Timeline != 2 {
		t.Fatalf("after the forced promotion: %+v", st.Members)
	}
}

func TestDRPromotionWithTheRegionDownNeedsForce(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	for _, m := range []string{"east-0", "east-1"} { // the east site fails
		if err := pgserver.Kill(ctx, l.member(m).DataDir); err != nil {
			t.Fatal(err)
		}
	}
	_, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{})
	var le *data.LossError
	if !errors.As(err, &le) || le.Loss.Bytes != -1 {
		t.Fatalf("promotion with no primary reachable: %v, want a LossError with an unknown loss", err)
	}
	t.Log(err)
	if st := l.status(ctx); st.Member("west-0").Primary {
		t.Fatal("a refused promotion promoted west-0")
	}
	res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss.Bytes != -1 || res.Loss.Counted {
		t.Fatalf("loss with no primary reachable: %+v, want unknown", *res.Loss)
	}
	if st := l.status(ctx); st.Primary != "west-0" {
		t.Fatalf("west-0 not primary: %+v", st.Members)
	}
}

// seqShipped bootstraps the set, writes seqs 1..n on east-0 and waits until west-0 has
// them all. autovacuum is off for the table: its analyze would commit transactions of
// its own, and the tests count commits.
func (l *lab) seqShipped(ctx context.Context, n int64) {
	l.t.Helper()
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key) with (autovacuum_enabled = off)`)
	l.insert(ctx, "east-0", 1, n)
	waitFor(l.t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, fmt.Sprintf("%+v", *m)
	})
}
