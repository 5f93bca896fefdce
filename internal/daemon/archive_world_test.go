package daemon_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/readiness"
)

// The archive lag of a set with spec.backup reaches hadron status, the metrics and
// the leader's readiness report: a real primary whose archive_command fails keeps a
// finished segment waiting until it is past spec.backup.archiveLagBound (1 s), which
// status marks, the metrics count and the readiness check warns about; once
// archive_command works again the segment leaves, and the warning with it.
func TestArchiveLagInStatusMetricsAndReadiness(t *testing.T) {
	pg := demotest.StartPG(t)
	pg.Exec(t, "ALTER SYSTEM SET archive_mode = on", "ALTER SYSTEM SET archive_command = '/bin/false'")
	pg.Stop(t)
	pg.Start(t)
	w := daemontest.Start(t, 192, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		if err := os.WriteFile(filepath.Join(dir, "cipher"), []byte("cipher-pass-of-the-test\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		set := withShopDB(t, f, dir,
			v1alpha1.Member{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}})
		set.Spec.Backup = &v1alpha1.Backup{
			Repository:      v1alpha1.BackupRepository{Path: filepath.Join(dir, "repo")},
			CipherPassFrom:  &v1alpha1.SecretRef{File: "cipher"},
			ArchiveLagBound: &metav1.Duration{Duration: time.Second},
		}
	}})
	leader, _ := w.WaitLeader(t, coordtest.Sites...)
	pg.Exec(t, "CREATE TABLE seq (n bigint)", "INSERT INTO seq SELECT generate_series(1, 100)", "SELECT pg_switch_wal()")

	archive := func(st api.Status) *api.ArchiveLag {
		if d := st.Apps[0].Data; d != nil {
			return d.Archive
		}
		return nil
	}
	var a *api.ArchiveLag
	coordtest.Eventually(t, 60*time.Second, "status shows a segment waiting past the bound", func() bool {
		a = archive(w.Status(t, leader))
		return a != nil && a.WaitingSegments >= 1 && a.OverBound
	})
	t.Logf("archive while archive_command fails: %+v", *a)
	if a.Primary != "east-0" || a.Bound != "1s" || a.LagBytes < 16<<20 || a.FailedCount == 0 {
		t.Fatalf("archive lag %+v: want east-0 at least a segment behind, bound 1s, failures counted", *a)
	}
	m := scrape(t, w.Client(t, leader))
	for _, re := range []string{
		`hadron_backup_archive_lag_bytes\{set="shop-db"\} ([0-9.e+]+)`,
		`hadron_backup_archive_waiting_segments\{set="shop-db"\} ([1-9][0-9]*)`,
		`hadron_backup_archive_waiting_seconds\{set="shop-db"\} ([0-9.e+]+)`,
	} {
		g := regexp.MustCompile(re).FindStringSubmatch(m)
		if g == nil {
			t.Fatalf("the metrics lack %s", re)
		}
		if v, _ := strconv.ParseFloat(g[1], 64); v <= 0 {
			t.Fatalf("%s is %s while a segment waits", re, g[1])
		}
	}

	finding := func(level string) bool {
		r := w.Status(t, leader).Apps[0].Readiness
		if r == nil {
			return false
		}
		for _, f := range r.Findings {
			if f.Check == readiness.CheckArchiveLag && f.Level == level {
				return true
			}
		}
		return false
	}
	// The leader checks readiness every 30 s.
	coordtest.Eventually(t, 90*time.Second, "the readiness report warns of the archive lag", func() bool { return finding("warn") })

	pg.Exec(t, "ALTER SYSTEM SET archive_command = '/bin/true'", "SELECT pg_reload_conf()")
	coordtest.Eventually(t, 60*time.Second, "status shows nothing waiting", func() bool {
		a = archive(w.Status(t, leader))
		return a != nil && a.WaitingSegments == 0 && !a.OverBound && a.LastArchived != ""
	})
	coordtest.Eventually(t, 90*time.Second, "the readiness report is back to ok", func() bool { return finding("ok") })
}
