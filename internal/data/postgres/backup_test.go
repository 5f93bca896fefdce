package postgres

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/objectstore"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/internal/testenv"
)

const (
	testCipherPass = "cipher-pass-for-the-test-repo"
	testBucket     = "hadron-backups"
)

// s3Repo starts a real S3 store (internal/objectstore) over HTTPS with a certificate
// for localhost from a test CA, and returns the set's repository in it.
func s3Repo(store **objectstore.Store) func(t testing.TB, root string) *BackupConfig {
	return func(t testing.TB, root string) *BackupConfig {
		testenv.LookPath(t, pgbackrest.Program)
		dir := filepath.Join(root, "s3-pki")
		ca, err := pki.LoadOrCreate(dir, pkix.Name{CommonName: "hadron test object store CA"})
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, "store")
		if err := ca.Issue(base, pki.Request{CommonName: "localhost", Hosts: []string{"localhost"}, Server: true}); err != nil {
			t.Fatal(err)
		}
		s, err := objectstore.Start(objectstore.Config{Listen: "127.0.0.1:0", CertFile: base + ".crt", KeyFile: base + ".key", Buckets: []string{testBucket}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		*store = s
		_, port, _ := net.SplitHostPort(s.Addr())
		p, _ := strconv.Atoi(port)
		return &BackupConfig{ArchiveTimeout: 30 * time.Second, Repo: pgbackrest.Repo{
			S3: &pgbackrest.S3{Endpoint: "localhost", Port: p, Bucket: testBucket, Region: "us-east-1",
				CA: readFileBytes(t, filepath.Join(dir, pki.CACert)), Key: "test-key", KeySecret: "test-key-secret", PathStyle: true},
			CipherPass: testCipherPass, RetentionFull: 2,
		}}
	}
}

func readFileBytes(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// posixRepo is a directory repository in the lab's directory.
func posixRepo(t testing.TB, root string) *BackupConfig {
	testenv.LookPath(t, pgbackrest.Program)
	return &BackupConfig{ArchiveTimeout: 30 * time.Second, Repo: pgbackrest.Repo{
		Path: filepath.Join(root, "repo"), CipherPass: testCipherPass, RetentionFull: 2,
	}}
}

// TestArchiveFollowsFailover: the archive has no gap across a failover. A backup on
// timeline 1, the primary killed, the failover member promoted, more writes on
// timeline 2: the new timeline's history file is in the archive, the archive check
// passes on the new primary, and a restore of the latest state from the backup taken
// before the failover finds every write of both timelines (it replays every segment
// from the backup to the end). The repository's objects are all ciphertext and never hold a row's plaintext.
func TestArchiveFollowsFailover(t *testing.T) {
	var store *objectstore.Store
	l := newLabWith(t, labOptions{backup: s3Repo(&store)})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	const canary = "plaintext-canary-7c1f0e"
	l.exec(ctx, "east-0", `create table seq (n bigint primary key, note text)`)
	l.exec(ctx, "east-0", `insert into seq select g, '`+canary+`' from generate_series(1, 100) g`)

	info, err := l.drv.Backup(ctx, pgbackrest.Full, 3*time.Minute)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if b, ok := info.Latest(); !ok || b.Type != pgbackrest.Full {
		t.Fatalf("after a full backup the repository lists %+v", info.Backups)
	}
	if info.Cipher != "aes-256-cbc" {
		t.Fatalf("repository cipher %q, want aes-256-cbc", info.Cipher)
	}

	res := l.failOverToEast1(ctx)
	l.exec(ctx, "east-1", `insert into seq select g, 'after' from generate_series(101, 150) g`)
	if err := l.drv.CheckArchive(ctx); err != nil {
		t.Fatalf("archive check on the new primary: %v", err)
	}
	st, err := l.drv.ArchiveStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("archive after the failover: primary %s, current %s, last archived %s, lag %d bytes, %d segments waiting", st.Primary, st.Current, st.LastArchived, st.Lag, st.Waiting)
	if st.Primary != "east-1" || st.Lag >= pgbackrest.SegmentSize || st.Waiting != 0 || !st.OldestWaitingSince.IsZero() {
		t.Fatalf("archive status %+v", st)
	}

	r, err := l.drv.backupRunner("east-1")
	if err != nil {
		t.Fatal(err)
	}
	hist := fmt.Sprintf("%08X.history", res.Timeline)
	dest := filepath.Join(pgbackrest.HomeFor(l.member("east-1").DataDir), "spool", hist)
	if err := r.ArchiveGet(ctx, hist, dest); err != nil {
		t.Fatalf("timeline %d's history is not in the archive: %v", res.Timeline, err)
	}
	if b, err := os.ReadFile(dest); err != nil || len(b) == 0 {
		t.Fatalf("history file %s: %d bytes, %v", hist, len(b), err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if err := l.drv.RestoreTo(ctx, "east-1", dir, pgbackrest.Target{}, 3*time.Minute); err != nil {
		t.Fatalf("restore latest: %v", err)
	}
	n := startRestored(t, ctx, dir, `select count(*) from seq`)
	if n != 150 {
		t.Fatalf("the restore of the latest state has %d rows, want 150 (100 on timeline 1, 50 on timeline %d)", n, res.Timeline)
	}

	var objects, bytesSeen int
	err = store.Each(testBucket, func(key string, body []byte) error {
		objects++
		bytesSeen += len(body)
		if bytes.Contains(body, []byte(canary)) {
			return fmt.Errorf("object %s holds the plaintext %q", key, canary)
		}
		// Compression alone could hide the canary: every object must also be
		// ciphertext, which pgBackRest writes in OpenSSL's salted format.
		if !bytes.HasPrefix(body, []byte("Salted__")) {
			return fmt.Errorf("object %s (%d bytes) is not encrypted: it starts %q", key, len(body), body[:min(len(body), 16)])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if objects == 0 {
		t.Fatal("the store holds no objects")
	}
	t.Logf("%d objects, %d bytes in the store, none with the canary", objects, bytesSeen)
}

// TestArchiveCatchUpAfterFailover: segments the primary had not archived when it died
// are pushed from the promoted member's pg_wal by the first schedule check on it, and
// the archive has no gap. The
// primary's archive_command is made to fail (as an unreachable store would) while
// whole segments are written and stream to the failover member.
func TestArchiveCatchUpAfterFailover(t *testing.T) {
	l := newLabWith(t, labOptions{backup: posixRepo})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	if _, err := l.drv.Backup(ctx, pgbackrest.Full, 3*time.Minute); err != nil {
		t.Fatalf("backup: %v", err)
	}
	// The file system's clock is coarser than time.Now: a second's margin.
	broken := time.Now().Add(-time.Second)
	l.exec(ctx, "east-0", `alter system set archive_command = '/bin/false'`)
	l.exec(ctx, "east-0", `select pg_reload_conf()`)
	for i := 0; i < 3; i++ {
		l.exec(ctx, "east-0", fmt.Sprintf(`insert into seq select generate_series(%d, %d)`, i*100+1, i*100+100))
		l.exec(ctx, "east-0", `select pg_switch_wal()`)
	}
	waitFor(t, ctx, "east-1 caught up", func() (bool, string) {
		m := l.status(ctx).Member("east-1")
		return m.State == data.StateStreaming && m.LagBytes == 0, string(m.State)
	})
	st, err := l.drv.ArchiveStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Waiting < 3 {
		t.Fatalf("east-0 has %d segments waiting for archive_command, want at least the 3 switched", st.Waiting)
	}
	if w := st.OldestWaitingSince; w.Before(broken) || w.After(time.Now()) {
		t.Fatalf("the oldest segment waiting since %s: want a time after archive_command broke (%s)", w, broken)
	}
	t.Logf("the primary dies with %d segments unarchived, archive lag %d bytes", st.Waiting, st.Lag)
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		t.Fatal(err)
	}
	e1 := l.status(ctx).Member("east-1")
	if _, err := l.drv.Promote(ctx, "east-1", data.TokenFor(*e1, 0)); err != nil {
		t.Fatalf("promote east-1: %v", err)
	}
	l.exec(ctx, "east-1", `insert into seq select generate_series(301, 350)`)

	r, err := l.drv.backupRunner("east-1")
	if err != nil {
		t.Fatal(err)
	}
	inArchive := func(seg string) bool {
		return r.ArchiveGet(ctx, seg, filepath.Join(r.Stanza.Home, "spool", seg)) == nil
	}
	for _, seg := range st.Ready {
		if inArchive(seg) {
			t.Fatalf("%s is in the archive before the catch-up: the test made no gap", seg)
		}
	}
	// The leader's first schedule check on the new primary catches the archive up
	// before it decides (nothing is due: the full backup is fresh).
	never := func(context.Context) error { return errors.New("no backup is due") }
	if dec, err := l.drv.ScheduledBackup(ctx, pgbackrest.Schedule{Full: 24 * time.Hour, Incremental: time.Hour}, time.Now(), never, time.Minute); err != nil || dec.Type != "" {
		t.Fatalf("schedule check on the new primary: %+v, %v; want the catch-up and nothing due", dec, err)
	}
	for _, seg := range st.Ready {
		if !inArchive(seg) {
			t.Fatalf("%s, which the dead primary left unarchived, is not in the archive after the schedule check's catch-up", seg)
		}
	}
	// Pushing again is accepted (the archive holds the same files).
	pushed, err := l.drv.CatchUpArchive(ctx, "east-1")
	if err != nil || len(pushed) < len(st.Ready) {
		t.Fatalf("a second catch-up: %v, %v (pushing again must be accepted)", pushed, err)
	}
	if err := l.drv.CheckArchive(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := l.drv.RestoreTo(ctx, "east-1", dir, pgbackrest.Target{}, 3*time.Minute); err != nil {
		t.Fatalf("restore latest: %v", err)
	}
	if n := startRestored(t, ctx, dir, `select count(*) from seq`); n != 350 {
		t.Fatalf("the restore has %d rows, want 350: the archive has a gap", n)
	}
}

// TestPointInTimeRestore: a restore to a time between two known writes finds exactly
// the writes before it (posix repository).
func TestPointInTimeRestore(t *testing.T) {
	l := newLabWith(t, labOptions{backup: posixRepo})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	info, err := l.drv.Backup(ctx, pgbackrest.Full, 3*time.Minute)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	b, _ := info.Latest()
	// pgBackRest keeps a backup's stop time in whole seconds and restores to a time
	// only from a backup that stopped before it: the target must be in a later second.
	waitFor(t, ctx, "the server's clock past the backup's stop second", func() (bool, string) {
		var past bool
		c, err := pgx.Connect(ctx, l.dsn("east-0"))
		if err != nil {
			return false, err.Error()
		}
		defer c.Close(ctx)
		err = c.QueryRow(ctx, `select clock_timestamp() >= to_timestamp($1::bigint + 1)`, b.Stop.Unix()).Scan(&past)
		return err == nil && past, fmt.Sprint(err)
	})
	l.exec(ctx, "east-0", `insert into seq select generate_series(1, 40)`)
	// The target is read from the server's clock after the first write committed and
	// before the second began: commit times order against it exactly.
	target := l.query(ctx, "east-0", `select clock_timestamp()`)[0][0]
	l.exec(ctx, "east-0", `insert into seq select generate_series(41, 90)`)
	if err := l.drv.CheckArchive(ctx); err != nil {
		t.Fatalf("archive check: %v", err)
	}
	at, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", target)
	if err != nil {
		t.Fatalf("target %q: %v", target, err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := l.drv.RestoreTo(ctx, "east-0", dir, pgbackrest.Target{Time: at}, 3*time.Minute); err != nil {
		t.Fatalf("restore to %s: %v", at, err)
	}
	if n := startRestored(t, ctx, dir, `select count(*) from seq`); n != 40 {
		t.Fatalf("restored to %s: %d rows, want the 40 written before it", at, n)
	}
	if n := startRestored(t, ctx, dir, `select max(n) from seq`); n != 40 {
		t.Fatalf("restored to %s: max %d, want 40", at, n)
	}

	// Every copy lost: the set's primary is rebuilt in place from the archive, to the
	// same time, and serves as the set's member again (TLS, archiving).
	if _, err := l.drv.RestoreAt(ctx, "east", pgbackrest.Target{}, time.Minute); err == nil {
		t.Fatal("a restore over a running set was not refused")
	}
	for _, m := range l.set.Spec.Members {
		if err := pgserver.Kill(ctx, m.DataDir); err != nil {
			t.Fatal(err)
		}
	}
	east0 := l.member("east-0").DataDir
	if err := os.Rename(east0, east0+".lost"); err != nil {
		t.Fatal(err)
	}
	member, err := l.drv.RestoreAt(ctx, "east", pgbackrest.Target{Time: at}, 3*time.Minute)
	if err != nil || member != "east-0" {
		t.Fatalf("restore at east: %s, %v", member, err)
	}
	if got := l.query(ctx, "east-0", `select count(*), max(n) from seq`)[0]; got[0] != "40" || got[1] != "40" {
		t.Fatalf("the rebuilt primary has %v rows, want the 40 before %s", got, at)
	}
	l.exec(ctx, "east-0", `insert into seq values (91)`) // it accepts writes: no synchronous stand-by named

	// Its stand-bys are cloned from it afresh (their old directories are on the lost
	// timeline): they stream, and none stops at the restore's target and promotes
	// itself, though each copies the restored primary's configuration (before
	// forgetRecovery, each did: a second primary on timeline 3).
	for _, name := range []string{"east-1", "west-0"} {
		dir := l.member(name).DataDir
		if err := os.Rename(dir, dir+".lost"); err != nil {
			t.Fatal(err)
		}
	}
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `insert into seq values (92)`)
	waitFor(t, ctx, "both stand-bys caught up", func() (bool, string) {
		st := l.status(ctx)
		for _, name := range []string{"east-1", "west-0"} {
			if m := st.Member(name); m.State != data.StateStreaming || m.LagBytes != 0 {
				return false, fmt.Sprintf("%s %s", name, m.State)
			}
		}
		return st.Primary == "east-0", "primary " + st.Primary
	})
	for _, name := range []string{"east-1", "west-0"} {
		if got := l.query(ctx, name, `select count(*) from seq`)[0][0]; got != "42" {
			t.Fatalf("%s has %s rows, want 42", name, got)
		}
		settings := l.query(ctx, name, `select count(*) from pg_settings where name like 'recovery_target%' and name <> 'recovery_target_timeline' and source <> 'default'`)[0][0]
		if settings != "0" {
			t.Fatalf("%s runs with %s recovery target settings from the restore", name, settings)
		}
	}
}

func TestRestoreMember(t *testing.T) {
	ms := []v1alpha1.Member{
		{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary},
		{Name: "east-1", Site: "east", Role: v1alpha1.RoleFailover, DataDir: "/d/east-1"},
		{Name: "west-1", Site: "west", Role: v1alpha1.RoleDRAsync, DataDir: "/d/west-1"},
		{Name: "west-0", Site: "west", Role: v1alpha1.RolePrimary, DataDir: "/d/west-0"},
		{Name: "south-0", Site: "south", Role: v1alpha1.RoleDRAsync},
	}
	for site, want := range map[string]string{
		"east":  "east-1", // the primary is not run by hadron
		"west":  "west-0", // the primary first
		"south": "error: no member at site south has a dataDir (south-0): hadron restores only members it runs",
		"north": `error: no member at site "north"`,
	} {
		got, err := restoreMember(ms, site)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != want {
			t.Errorf("%s: %s, want %s", site, got, want)
		}
	}
}

// startRestored starts the server of a restored directory on a free port without
// TLS, waits until it finished recovery and was promoted, and returns the number
// query answers.
func startRestored(t testing.TB, ctx context.Context, dir, query string) int64 {
	t.Helper()
	if _, running := pgserver.Running(dir); !running {
		if err := pgserver.WriteAccess(dir, pgserver.Access{}); err != nil {
			t.Fatal(err)
		}
		// The backup's settings name the set's stand-by as synchronous; the copy has none.
		if err := setAutoConf(dir, map[string]string{"synchronous_standby_names": ""}); err != nil {
			t.Fatal(err)
		}
		port := testenv.FreePorts(t, 1)[0]
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if err := pgserver.Start(ctx, dir, addr); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pgserver.Kill(context.Background(), dir) })
		os.WriteFile(dir+".port", []byte(strconv.Itoa(port)), 0o600)
	}
	port, _ := os.ReadFile(dir + ".port")
	dsn := fmt.Sprintf("host=127.0.0.1 port=%s user=hadron password=%s dbname=orders connect_timeout=3 sslmode=disable", port, quoteConn(testPassword))
	var n int64
	waitFor(t, ctx, "the restored server promoted", func() (bool, string) {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close(ctx)
		var rec bool
		if err := c.QueryRow(ctx, `select pg_is_in_recovery()`).Scan(&rec); err != nil || rec {
			return false, fmt.Sprintf("in recovery %v, %v", rec, err)
		}
		if err := c.QueryRow(ctx, query).Scan(&n); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return n
}

// TestRetentionKeepsFullBackupsByCount: with retention.full 2, a third full backup
// expires the first, and an incremental one builds on the newest full.
func TestRetentionKeepsFullBackupsByCount(t *testing.T) {
	l := newLabWith(t, labOptions{backup: posixRepo})
	ctx := testCtx(t, 6*time.Minute)
	l.bootstrap(ctx)
	var fulls []string
	for i := 0; i < 3; i++ {
		info, err := l.drv.Backup(ctx, pgbackrest.Full, 3*time.Minute)
		if err != nil {
			t.Fatalf("full backup %d: %v", i+1, err)
		}
		b, _ := info.Latest()
		fulls = append(fulls, b.Label)
	}
	info, err := l.drv.Backup(ctx, pgbackrest.Incr, 3*time.Minute)
	if err != nil {
		t.Fatalf("incremental backup: %v", err)
	}
	var labels []string
	for _, b := range info.Backups {
		labels = append(labels, b.Label)
	}
	if len(info.Backups) != 3 || info.Backups[0].Label != fulls[1] || info.Backups[1].Label != fulls[2] {
		t.Fatalf("the repository keeps %v; want the last two full backups of %v and an incremental one", labels, fulls)
	}
	if last := info.Backups[2]; last.Type != pgbackrest.Incr || last.Prior != fulls[2] {
		t.Fatalf("the last backup is %+v, want an incremental on %s", last, fulls[2])
	}
}
