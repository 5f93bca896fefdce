package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

func TestCountCommits(t *testing.T) {
	out := []byte(`rmgr: Transaction len (rec/tot):     34/    34, tx:        757, lsn: 0/03000148, prev 0/03000110, desc: COMMIT 2026-11-23 12:00:00.000000 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        758, lsn: 0/030001A0, prev 0/03000170, desc: ABORT 2026-11-23 12:00:00.100000 UTC
rmgr: Transaction len (rec/tot):     66/    66, tx:        759, lsn: 0/03000200, prev 0/030001C8, desc: COMMIT_PREPARED 5: 2026-11-23 12:00:00.200000 UTC
pg_waldump: error: error in WAL record at 0/3000248: invalid record length at 0/3000280: wanted 24, got 0
`)
	n, last := countCommits(out)
	if n != 2 || last != 0x3000200 {
		t.Fatalf("countCommits = %d, %s; want 2, 0/3000200", n, last)
	}
	if n, last := countCommits(nil); n != 0 || last != 0 {
		t.Fatalf("empty: %d %s", n, last)
	}
}

// TestRewindCountsWhatTheOldPrimaryDiscards promotes the DR member while 300 commits
// were never shipped to it, stops the old primary as a region loss would, and rejoins
// it: before the rewind throws those commits away, the driver counts them on the old
// primary's WAL and records the count on the new primary.
func TestRewindCountsWhatTheOldPrimaryDiscards(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.seqShipped(ctx, 100)
	l.cut()
	l.insert(ctx, "east-0", 101, 400)
	for _, m := range []string{"east-0", "east-1"} { // the east region is lost
		if err := pgserver.Kill(ctx, l.member(m).DataDir); err != nil {
			t.Fatal(err)
		}
	}
	res, err := data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss.Counted {
		t.Fatalf("loss counted with the old primary gone: %+v", *res.Loss)
	}
	// A count from long ago, read into its ledger then: pruned when the next is stored.
	old, err := pgx.Connect(ctx, strings.Replace(l.dsn("west-0"), "dbname=orders", "dbname=postgres", 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{discardedTable, `insert into hadron_discarded (member, timeline, fork, upto, transactions, bytes, counted_at)
		values ('ancient', 1, '0/1', '0/2', 7, 70, now() - interval '100 days')`} {
		if _, err := old.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close(ctx)
	l.heal()
	if err := l.drv.Rejoin(ctx, "east-0"); err != nil {
		t.Fatal(err)
	}
	ds, err := l.drv.Discarded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got *data.Discard
	for i := range ds {
		if ds[i].Member == "east-0" {
			got = &ds[i]
		}
	}
	if got == nil {
		t.Fatalf("no discard recorded for east-0: %+v", ds)
	}
	for _, d := range ds {
		if d.Member == "ancient" {
			t.Fatalf("a 100-day-old count was kept: %+v", d)
		}
	}
	t.Logf("discarded: %+v (promoted at %s)", *got, res.Loss.From)
	// The 300 unshipped inserts are the commits past the fork.
	if got.Transactions != 300 || got.Fork != res.Loss.From || got.Timeline != 1 || got.Bytes <= 0 {
		t.Fatalf("discard %+v: want 300 transactions past the fork %s on timeline 1", *got, res.Loss.From)
	}
	if n := l.count(ctx, "east-0"); n != 100 {
		t.Fatalf("rewound east-0 has %d rows, want west-0's 100", n)
	}
}
