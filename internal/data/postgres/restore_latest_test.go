package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/pgserver"
)

// TestPlanRestore: an unattended restore resumes where it stopped and never touches a
// database it did not write.
func TestPlanRestore(t *testing.T) {
	for _, c := range []struct {
		name             string
		answers, primary bool
		mark             string
		holdsDB          bool
		want             restoreAction
	}{
		{"directory gone", false, false, "", false, restoreFiles},
		{"directory holds a database: down, not lost", false, false, "", true, restoreRefuse},
		{"a live member without a mark", true, false, "", true, restoreRunning},
		{"a live primary without a mark", true, true, "", true, restoreRunning},
		{"interrupted while writing the files", false, false, markRestoring, true, restoreRedo},
		{"interrupted while writing, nothing written yet", false, false, markRestoring, false, restoreRedo},
		{"files complete, server not started", false, false, markRestored, true, restoreStart},
		{"files complete, server replaying", true, false, markRestored, true, restoreWait},
		{"promoted, the mark not yet removed", true, true, markRestored, true, restoreFinished},
		{"mark says restored but the directory is gone", false, false, markRestored, false, restoreFiles},
	} {
		if got := planRestore(c.answers, c.primary, c.mark, c.holdsDB); got != c.want {
			t.Errorf("%s: planRestore = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestRestoreLatestForAFailover runs the failover's restore (data.ArchiveRestorer)
// against real PostgreSQL and pgBackRest: with every member killed it refuses while
// west-0's directory still holds its database (down, not lost); with the directory
// gone and an interrupted restore's half-written files in its place, it throws them
// away and rebuilds west-0 from the archive with every archived row, promoted on
// timeline 2, reporting where the archive ended; called again it never restores over
// the running server; with the files restored and the server stopped before it was
// promoted, it only starts it.
func TestRestoreLatestForAFailover(t *testing.T) {
	l := newLabWith(t, labOptions{backup: posixRepo})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	if _, err := l.drv.Backup(ctx, pgbackrest.Full, 3*time.Minute); err != nil {
		t.Fatalf("backup: %v", err)
	}
	l.exec(ctx, "east-0", `insert into seq select generate_series(1, 60)`)
	// CheckArchive switches the segment and waits until it is archived: the 60 rows
	// are in the archive.
	if err := l.drv.CheckArchive(ctx); err != nil {
		t.Fatalf("archive check: %v", err)
	}
	for _, m := range l.set.Spec.Members {
		if err := pgserver.Kill(ctx, m.DataDir); err != nil {
			t.Fatal(err)
		}
	}
	west0 := l.member("west-0")
	if _, err := l.drv.RestoreLatest(ctx, "west"); err == nil || !strings.Contains(err.Error(), "down, not lost") {
		t.Fatalf("restore over west-0's own database: %v, want refused as down, not lost", err)
	}
	// A restore interrupted while pgBackRest wrote the files left them half-written.
	if err := os.RemoveAll(west0.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(west0.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(west0.DataDir, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeMark(west0, markRestoring); err != nil {
		t.Fatal(err)
	}
	if !l.drv.RestoreInProgress("west") {
		t.Error("an interrupted restore is not reported in progress")
	}
	res, err := l.drv.RestoreLatest(ctx, "west")
	if err != nil {
		t.Fatalf("restore at west: %v", err)
	}
	if res.Member != "west-0" || res.Timeline != 2 || res.End == 0 || !res.Resumed {
		t.Errorf("restored %+v: want west-0 on timeline 2 with its end, resumed", res)
	}
	if got := l.query(ctx, "west-0", `select count(*), max(n) from seq`)[0]; got[0] != "60" || got[1] != "60" {
		t.Fatalf("the restored primary has %v rows, want the 60 archived", got)
	}
	l.exec(ctx, "west-0", `insert into seq values (61)`)
	if _, err := os.Stat(restoreMark(west0)); !os.IsNotExist(err) || l.drv.RestoreInProgress("west") {
		t.Errorf("the restore's mark is still there after the promotion: %v", err)
	}
	if _, err := l.drv.RestoreLatest(ctx, "west"); err == nil {
		t.Fatal("a restore over the running restored primary was not refused")
	}
	if got := l.query(ctx, "west-0", `select count(*) from seq`)[0][0]; got != "61" {
		t.Fatalf("after the refused restore west-0 has %s rows, want 61", got)
	}

	// Files restored, server stopped before its promotion was seen: only started.
	if err := pgserver.Kill(ctx, west0.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := writeMark(west0, markRestored); err != nil {
		t.Fatal(err)
	}
	res, err = l.drv.RestoreLatest(ctx, "west")
	if err != nil || !res.Resumed {
		t.Fatalf("resumed restore: %+v, %v", res, err)
	}
	if got := l.query(ctx, "west-0", `select count(*) from seq`)[0][0]; got != "61" {
		t.Fatalf("the started server has %s rows, want 61 (started, not restored again)", got)
	}
}
