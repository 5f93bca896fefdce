// Package backup_test measures issue 18's two backup figures on real parts: a
// PostgreSQL 15 primary that hadron's driver bootstraps and configures for
// pgBackRest 2.45 (its archive_command, pgbackrest.conf, stanza), the S3 store
// hadron's lab runs (internal/objectstore, TLS), and between the two a toxiproxy
// link with the lab's latency (links.SetProxyLatency: 35 ms each way, a 70 ms round
// trip). Every figure is taken twice in one run, once across the link and once with
// the same proxy at 0 ms, and printed side by side with their ratio.
//
//	bench/backup/run.sh          # or make bench-backup
//	cd lab && SIZE_MB=256 go test -count=1 -run '^$' -bench BenchmarkBackup -benchtime 1x -timeout 60m ./e2e/backup/
package backup_test

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
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

	"github.com/Shopify/toxiproxy/v2"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/objectstore"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/lab/internal/links"
	"hadron.dev/hadron/lab/internal/topology"
)

const (
	bucket   = "hadron-bench"
	password = "bench-pw"
)

// settings are the bench's knobs, from the environment (bench/backup/run.sh).
type settings struct {
	sizeMB, rate int
	load         time.Duration
	latency      time.Duration
	// zeroFirst measures the 0 ms link first (ZERO_FIRST=1): run both orders to
	// tell the link from the machine's load, which changes between the two.
	zeroFirst bool
}

func readSettings() settings {
	s := settings{sizeMB: 1024, rate: 1000, load: 60 * time.Second, latency: topology.DefaultLatency}
	if v, err := strconv.Atoi(os.Getenv("SIZE_MB")); err == nil && v > 0 {
		s.sizeMB = v
	}
	if v, err := strconv.Atoi(os.Getenv("RATE")); err == nil && v > 0 {
		s.rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("LOAD_SECONDS")); err == nil && v > 0 {
		s.load = time.Duration(v) * time.Second
	}
	if v, err := time.ParseDuration(os.Getenv("LATENCY")); err == nil && v > 0 {
		s.latency = v
	}
	s.zeroFirst = os.Getenv("ZERO_FIRST") == "1"
	return s
}

// result is what one link gave.
type result struct {
	link               string
	tps                float64 // pgbench's acknowledged transactions a second
	rows               int64   // rows the load left in the table
	lagBytes, waitSecs []float64
	sinceArchived      []float64 // seconds since the last file archived, per sample
	maxWaiting         int
	fillWaiting        int           // segments waiting when the fill ended
	drain              time.Duration // from the fill's end until none waited
	dbBytes            float64
	backup, restore    time.Duration
	repoBytes          int64
	// load is the 1-minute load average as each phase started: the machine is
	// shared, and a phase run under twice the load says more about that than about
	// the link.
	load map[string]float64
}

func BenchmarkBackup(b *testing.B) {
	testenv.PostgresBin(b)
	testenv.LookPath(b, pgbackrest.Program)
	s := readSettings()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	for i := 0; i < b.N; i++ {
		root := b.TempDir()
		st := startStore(b, root)
		order := []time.Duration{s.latency, 0}
		if s.zeroFirst {
			order = []time.Duration{0, s.latency}
		}
		byLat := map[time.Duration]result{}
		for _, lat := range order {
			byLat[lat] = measure(b, ctx, root, st, s, lat)
		}
		printTable(s, []result{byLat[s.latency], byLat[0], byLat[order[0]]})
	}
}

// store is the object store and its CA.
type store struct {
	srv *objectstore.Store
	ca  []byte
	tox *toxiproxy.ApiServer
}

func startStore(b *testing.B, root string) store {
	dir := filepath.Join(root, "store-pki")
	ca, err := pki.LoadOrCreate(dir, pkix.Name{CommonName: "hadron bench object store CA"})
	if err != nil {
		b.Fatal(err)
	}
	base := filepath.Join(dir, "store")
	if err := ca.Issue(base, pki.Request{CommonName: "localhost", Hosts: []string{"localhost"}, Server: true}); err != nil {
		b.Fatal(err)
	}
	srv, err := objectstore.Start(objectstore.Config{Listen: "127.0.0.1:0", CertFile: base + ".crt", KeyFile: base + ".key", Buckets: []string{bucket}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close(context.Background()) })
	caPEM, err := os.ReadFile(filepath.Join(dir, pki.CACert))
	if err != nil {
		b.Fatal(err)
	}
	return store{srv: srv, ca: caPEM, tox: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())}
}

// link is a toxiproxy proxy to the store with lat each way; it returns its port.
func link(b *testing.B, st store, lat time.Duration) int {
	port := testenv.FreePorts(b, 1)[0]
	p := toxiproxy.NewProxy(st.tox, fmt.Sprintf("store-%s", lat), fmt.Sprintf("127.0.0.1:%d", port), st.srv.Addr())
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Stop)
	if err := links.SetProxyLatency(p, lat); err != nil {
		b.Fatal(err)
	}
	return port
}

// measure runs both figures with the store behind a link of lat: a set of one
// primary (its own stanza, named after the link) archiving through it.
func measure(b *testing.B, ctx context.Context, root string, st store, s settings, lat time.Duration) result {
	name := fmt.Sprintf("bench%dms", lat.Milliseconds())
	r := result{link: fmt.Sprintf("%s each way", lat), load: map[string]float64{}}
	pgPort := testenv.FreePorts(b, 1)[0]
	dataDir := filepath.Join(root, name, "east-0")
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		b.Fatal(err)
	}
	set := &v1alpha1.MirrorSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindMirrorSet},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.MirrorSetSpec{
			Engine: v1alpha1.EnginePostgres, Database: "bench",
			Members: []v1alpha1.Member{{Name: "east-0", Site: "east", Zone: "a", Role: v1alpha1.RolePrimary,
				Address: v1alpha1.Endpoint{Address: fmt.Sprintf("127.0.0.1:%d", pgPort)}, DataDir: dataDir}},
			Credentials: &v1alpha1.Credentials{User: "hadron", ReplicationUser: "replicator"},
		},
	}
	// The lab's fleet's spec.backup (lab/internal/topology), with this link's port.
	backup := &postgres.BackupConfig{ArchiveTimeout: 30 * time.Second, Repo: pgbackrest.Repo{
		S3: &pgbackrest.S3{Endpoint: "localhost", Port: link(b, st, lat), Bucket: bucket, Region: "us-east-1",
			CA: st.ca, Key: "bench-key", KeySecret: "bench-key-secret", PathStyle: true},
		CipherPass: "bench-cipher-pass", RetentionFull: 2,
	}}
	level := slog.LevelWarn
	if os.Getenv("HADRON_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	drv, err := postgres.New(postgres.Config{Set: set, Regions: map[string]string{"east": "east"}, Password: password,
		Backup: backup, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pgserver.Kill(context.Background(), dataDir) })
	logf("%s: bootstrap", r.link)
	if err := drv.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=hadron password=%s dbname=bench sslmode=disable connect_timeout=5", pgPort, password)

	// 1. Archive lag under the write load.
	exec1(b, ctx, dsn, `create table writes (id bigserial primary key, v int, at timestamptz default now())`)
	logf("%s: %d writes/s for %s", r.link, s.rate, s.load)
	r.load["load"] = loadAvg1()
	out := pgbenchLoad(b, ctx, pgPort, s, func(ctx context.Context) {
		a, err := drv.ArchiveStatus(ctx)
		if err != nil {
			return
		}
		r.lagBytes = append(r.lagBytes, float64(a.Lag))
		var wait float64
		if !a.OldestWaitingSince.IsZero() {
			wait = time.Since(a.OldestWaitingSince).Seconds()
		}
		r.waitSecs = append(r.waitSecs, wait)
		if !a.ArchivedAt.IsZero() {
			r.sinceArchived = append(r.sinceArchived, time.Since(a.ArchivedAt).Seconds())
		}
		r.maxWaiting = max(r.maxWaiting, a.Waiting)
	})
	if m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out); m != nil {
		r.tps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	r.rows = queryInt(b, ctx, dsn, `select count(*) from writes`)

	// 2. A database of SIZE_MB, a full backup, the set lost and rebuilt by the
	// failover's restore (RestoreLatest: pgbackrest restore, replay to the end of
	// the archive, promotion), timed.
	logf("%s: filling %d MiB", r.link, s.sizeMB)
	r.load["fill"] = loadAvg1()
	// About 150 bytes a row on disk; md5 text compresses about as a real table would.
	rows := int64(s.sizeMB) << 20 / 150
	exec1(b, ctx, dsn, fmt.Sprintf(`create table fill as select g as id, md5(g::text) || md5((g * 7)::text) as a, md5((g * 13)::text) as c from generate_series(1, %d) g`, rows))
	r.dbBytes = float64(queryInt(b, ctx, dsn, `select pg_database_size('bench')`))
	// The fill's WAL is archived before the backup starts, so that the backup's own
	// wait for its stop segment does not include this queue; the drain is its own row.
	start := time.Now()
	for first := true; ; first = false {
		a, err := drv.ArchiveStatus(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if first {
			r.fillWaiting = a.Waiting
		}
		if a.Waiting == 0 {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	r.drain = time.Since(start)
	logf("%s: full backup of %.0f MiB", r.link, r.dbBytes/(1<<20))
	r.load["backup"] = loadAvg1()
	start = time.Now()
	info, err := drv.Backup(ctx, pgbackrest.Full, 30*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	r.backup = time.Since(start)
	if last, ok := info.Latest(); ok {
		r.repoBytes = last.RepoSize
	}
	if err := pgserver.Kill(ctx, dataDir); err != nil {
		b.Fatal(err)
	}
	if err := os.RemoveAll(dataDir); err != nil {
		b.Fatal(err)
	}
	logf("%s: restore", r.link)
	r.load["restore"] = loadAvg1()
	start = time.Now()
	if _, err := drv.RestoreLatest(ctx, "east"); err != nil {
		b.Fatal(err)
	}
	r.restore = time.Since(start)
	if n := queryInt(b, ctx, dsn, `select count(*) from fill`); n != rows {
		b.Fatalf("%s: restored %d rows of %d", r.link, n, rows)
	}
	if n := queryInt(b, ctx, dsn, `select count(*) from writes`); n != r.rows {
		b.Fatalf("%s: restored %d writes of %d", r.link, n, r.rows)
	}
	_ = pgserver.Kill(context.Background(), dataDir)
	_ = os.RemoveAll(dataDir)
	return r
}

// pgbenchLoad runs pgbench (8 clients) at s.rate single-row inserts a second for
// s.load and calls sample every second meanwhile. It returns pgbench's output.
func pgbenchLoad(b *testing.B, ctx context.Context, port int, s settings, sample func(context.Context)) []byte {
	pgbench := testenv.LookPath(b, "/usr/lib/postgresql/15/bin/pgbench", "pgbench")
	script := filepath.Join(b.TempDir(), "insert.sql")
	if err := os.WriteFile(script, []byte("insert into writes (v) values (1);\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				sample(sctx)
			}
		}
	}()
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "hadron",
		"-c", "8", "-j", "2", "-R", strconv.Itoa(s.rate), "-T", strconv.Itoa(int(s.load.Seconds())), "-f", script, "bench")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGSSLMODE=disable")
	out, err := cmd.CombinedOutput()
	stop()
	wg.Wait()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	return out
}

func exec1(b *testing.B, ctx context.Context, dsn, sql string) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(b *testing.B, ctx context.Context, dsn, sql string) int64 {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int64
	if err := c.QueryRow(ctx, sql).Scan(&n); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
	return n
}

func loadAvg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func loadAvg1() float64 {
	f, _ := strconv.ParseFloat(strings.Fields(loadAvg() + " ?")[0], 64)
	return f
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05")+" "+format+"\n", args...)
}

// pct is the p-th percentile of xs (nearest rank); 0 for none.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// tableRow is one figure of the table: its name, how to read it from a result, its
// format.
type tableRow struct {
	name   string
	f      func(result) float64
	format string
}

// printTable prints rs[0] (across the link) beside rs[1] (0 ms) and their ratio;
// rs[2] is the one measured first.
func printTable(s settings, rs []result) {
	fmt.Printf("\nbackup bench: PostgreSQL 15, pgBackRest %s (archive-push synchronous, zst, aes-256-cbc), S3 store over TLS behind toxiproxy\n", pgbackrestVersion())
	fmt.Printf("load: %d single-row inserts/s for %s (pgbench, 8 clients), archive lag sampled every 1 s; database of %d MiB asked\n\n", s.rate, s.load, s.sizeMB)
	a, z := rs[0], rs[1]
	gib := func(r result) float64 { return r.dbBytes / (1 << 30) }
	rows := []tableRow{
		{"writes acknowledged/s", func(r result) float64 { return r.tps }, "%.0f"},
		{"archive lag p50 (bytes)", func(r result) float64 { return pct(r.lagBytes, 50) }, "%.0f"},
		{"archive lag p99 (bytes)", func(r result) float64 { return pct(r.lagBytes, 99) }, "%.0f"},
		{"archive lag max (bytes)", func(r result) float64 { return pct(r.lagBytes, 100) }, "%.0f"},
		{"oldest wait p50 (s)", func(r result) float64 { return pct(r.waitSecs, 50) }, "%.2f"},
		{"oldest wait p99 (s)", func(r result) float64 { return pct(r.waitSecs, 99) }, "%.2f"},
		{"oldest wait max (s)", func(r result) float64 { return pct(r.waitSecs, 100) }, "%.2f"},
		{"segments waiting max", func(r result) float64 { return float64(r.maxWaiting) }, "%.0f"},
		{"since last archived p50 (s)", func(r result) float64 { return pct(r.sinceArchived, 50) }, "%.1f"},
		{"since last archived max (s)", func(r result) float64 { return pct(r.sinceArchived, 100) }, "%.1f"},
		{"fill: segments waiting", func(r result) float64 { return float64(r.fillWaiting) }, "%.0f"},
		{"fill: archive drained (s)", func(r result) float64 { return r.drain.Seconds() }, "%.1f"},
		{"database (MiB)", func(r result) float64 { return r.dbBytes / (1 << 20) }, "%.0f"},
		{"full backup stored (MiB)", func(r result) float64 { return float64(r.repoBytes) / (1 << 20) }, "%.0f"},
		{"full backup (s)", func(r result) float64 { return r.backup.Seconds() }, "%.1f"},
		{"full backup (s/GiB)", func(r result) float64 { return r.backup.Seconds() / gib(r) }, "%.1f"},
		{"restore to promoted (s)", func(r result) float64 { return r.restore.Seconds() }, "%.1f"},
		{"restore (s/GiB)", func(r result) float64 { return r.restore.Seconds() / gib(r) }, "%.1f"},
	}
	for _, phase := range []string{"load", "fill", "backup", "restore"} {
		rows = append(rows, tableRow{"load avg 1 min at " + phase, func(r result) float64 { return r.load[phase] }, "%.1f"})
	}
	fmt.Printf("| %-27s | %14s | %14s | %7s |\n", "", a.link, z.link, "ratio")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 29), strings.Repeat("-", 16), strings.Repeat("-", 16), strings.Repeat("-", 9))
	for _, row := range rows {
		x, y := row.f(a), row.f(z)
		ratio := "-"
		if y != 0 {
			ratio = fmt.Sprintf("%.2f", x/y)
		}
		fmt.Printf("| %-27s | %14s | %14s | %7s |\n", row.name, fmt.Sprintf(row.format, x), fmt.Sprintf(row.format, y), ratio)
	}
	fmt.Printf("\nsamples: %d and %d; rows written by the load: %d and %d\n", len(a.lagBytes), len(z.lagBytes), a.rows, z.rows)
	fmt.Printf("measured %s first; load average (1 5 15 min) at the end: %s\n", rs[2].link, loadAvg())
}

func pgbackrestVersion() string {
	out, err := exec.Command(pgbackrest.Program, "version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "pgBackRest ")
}
