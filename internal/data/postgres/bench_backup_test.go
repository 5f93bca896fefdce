package postgres

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/objectstore"
)

// BenchmarkBackupArchiveRestore measures, on the lab's set with an encrypted S3
// repository (the store on loopback, not yet behind a cross-region link): a full
// backup of about 100 MB of table data, an incremental one after 1% of the rows
// changed, the archive lag while pgbench writes 1,000 single-row transactions a
// second for 15 s (sampled every 250 ms), and a restore of the latest state
// (pgbackrest restore, then recovery until the server accepts writes).
//
//	go test -run '^$' -bench BackupArchiveRestore -benchtime 1x ./internal/data/postgres/
func BenchmarkBackupArchiveRestore(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var store *objectstore.Store
		l := newLabWith(b, labOptions{backup: s3Repo(&store)})
		ctx := testCtx(b, 10*time.Minute)
		l.bootstrap(ctx)
		l.exec(ctx, "east-0", `create table fill as select g as id, repeat(md5(g::text), 6) as v from generate_series(1, 450000) g`)
		l.exec(ctx, "east-0", `alter table fill add primary key (id)`)
		size, _ := strconv.ParseFloat(l.query(ctx, "east-0", `select pg_database_size('orders')`)[0][0], 64)

		start := time.Now()
		if _, err := l.drv.Backup(ctx, pgbackrest.Full, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		full := time.Since(start)
		l.exec(ctx, "east-0", `update fill set v = md5(v) where id % 100 = 0`)
		start = time.Now()
		info, err := l.drv.Backup(ctx, pgbackrest.Incr, 5*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		incr := time.Since(start)
		last, _ := info.Latest()

		lags := archiveLagUnderLoad(b, ctx, l, 1000)

		if err := l.drv.CheckArchive(ctx); err != nil {
			b.Fatal(err)
		}
		dir := filepath.Join(b.TempDir(), "restored")
		start = time.Now()
		if err := l.drv.RestoreTo(ctx, "east-0", dir, pgbackrest.Target{}, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		startRestored(b, ctx, dir, `select count(*) from fill`)
		restore := time.Since(start)

		gib := size / (1 << 30)
		b.ReportMetric(size/(1<<20), "db-MiB")
		b.ReportMetric(full.Seconds(), "full-backup-s")
		b.ReportMetric(incr.Seconds(), "incr-backup-s")
		b.ReportMetric(float64(last.RepoSize)/(1<<20), "incr-repo-MiB")
		b.ReportMetric(pct(lags, 50), "archive-lag-p50-bytes")
		b.ReportMetric(pct(lags, 99), "archive-lag-p99-bytes")
		b.ReportMetric(restore.Seconds(), "restore-s")
		b.ReportMetric(restore.Seconds()/gib, "restore-s/GiB")
		b.Logf("db %.0f MiB: full backup %s, incremental (1%% of rows changed) %s storing %.1f MiB, archive lag at 1000 writes/s p50 %.0f p99 %.0f bytes over %d samples, restore %s (%.0f s/GiB)",
			size/(1<<20), full.Round(time.Millisecond), incr.Round(time.Millisecond), float64(last.RepoSize)/(1<<20), pct(lags, 50), pct(lags, 99), len(lags), restore.Round(time.Millisecond), restore.Seconds()/gib)
	}
}

// archiveLagUnderLoad runs pgbench (8 clients) at rate single-insert transactions a
// second on the primary for 15 s and samples the archive lag every 250 ms.
func archiveLagUnderLoad(b *testing.B, ctx context.Context, l *lab, rate int) []float64 {
	b.Helper()
	l.exec(ctx, "east-0", `create table archload (id bigserial primary key, v int, at timestamptz default now())`)
	var lags []float64
	out := insertLoad(b, ctx, l, "archload", 8, rate, func(ctx context.Context) {
		if st, err := l.drv.ArchiveStatus(ctx); err == nil {
			lags = append(lags, float64(st.Lag))
		}
	})
	b.Logf("pgbench: tps %s", regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)[1])
	return lags
}
