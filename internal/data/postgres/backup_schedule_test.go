package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data/pgbackrest"
)

// TestScheduledBackupFollowsFailover: the schedule's memory is the repository. The
// first check on an empty repository takes a full backup; a second check at once
// takes nothing; a check whose guard refuses (a deposed leader) starts nothing; after
// a failover the check at once takes nothing either (no double), and the first one
// an incremental interval later takes an incremental backup from the new primary, on
// its timeline, building on the full backup taken before the failover (no gap).
func TestScheduledBackupFollowsFailover(t *testing.T) {
	l := newLabWith(t, labOptions{backup: posixRepo})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	l.exec(ctx, "east-0", `insert into seq select generate_series(1, 100)`)
	s := pgbackrest.Schedule{Full: 24 * time.Hour, Incremental: time.Hour}
	guards := 0
	allow := func(context.Context) error { guards++; return nil }
	const timeout = 3 * time.Minute

	dec, err := l.drv.ScheduledBackup(ctx, s, time.Now(), allow, timeout)
	if err != nil || dec.Type != pgbackrest.Full || guards != 1 {
		t.Fatalf("first check: %+v, %v, guard asked %d times; want a full backup after one guard", dec, err, guards)
	}
	info := l.backups(ctx, "east-0")
	if len(info.Backups) != 1 || info.Backups[0].Type != pgbackrest.Full {
		t.Fatalf("after the first check the repository lists %+v", info.Backups)
	}
	fullLabel := info.Backups[0].Label

	if dec, err := l.drv.ScheduledBackup(ctx, s, time.Now(), allow, timeout); err != nil || dec.Type != "" || guards != 1 {
		t.Fatalf("second check at once: %+v, %v, guard asked %d times; want nothing due", dec, err, guards)
	}

	fenced := errors.New("token superseded")
	refuse := func(context.Context) error { return fenced }
	dec, err = l.drv.ScheduledBackup(ctx, s, time.Now().Add(2*time.Hour), refuse, timeout)
	if !errors.Is(err, fenced) || dec.Type != pgbackrest.Incr {
		t.Fatalf("check with a refusing guard: %+v, %v; want the incremental backup refused", dec, err)
	}
	if n := len(l.backups(ctx, "east-0").Backups); n != 1 {
		t.Fatalf("a refused check took a backup: %d in the repository", n)
	}

	res := l.failOverToEast1(ctx)
	l.exec(ctx, "east-1", `insert into seq select generate_series(101, 150)`)

	if dec, err := l.drv.ScheduledBackup(ctx, s, time.Now(), allow, timeout); err != nil || dec.Type != "" {
		t.Fatalf("check on the new primary at once: %+v, %v; want nothing due (the full backup is fresh)", dec, err)
	}
	dec, err = l.drv.ScheduledBackup(ctx, s, time.Now().Add(time.Hour+time.Minute), allow, timeout)
	if err != nil || dec.Type != pgbackrest.Incr {
		t.Fatalf("check an interval later on the new primary: %+v, %v; want an incremental backup", dec, err)
	}
	info = l.backups(ctx, "east-1")
	if len(info.Backups) != 2 {
		t.Fatalf("after the failover the repository lists %+v", info.Backups)
	}
	incr := info.Backups[1]
	tli := fmt.Sprintf("%08X", res.Timeline)
	t.Logf("incremental %s on %s..%s after the promotion to timeline %d", incr.Label, incr.WALStart, incr.WALStop, res.Timeline)
	if incr.Type != pgbackrest.Incr || incr.Prior != fullLabel || !strings.HasPrefix(incr.WALStart, tli) {
		t.Fatalf("incremental backup %+v: want one after %s on timeline %s", incr, fullLabel, tli)
	}
}

// backups is the repository's view through member's configuration.
func (l *lab) backups(ctx context.Context, member string) *pgbackrest.StanzaInfo {
	l.t.Helper()
	info, err := l.drv.Backups(ctx, member)
	if err != nil {
		l.t.Fatal(err)
	}
	return info
}
