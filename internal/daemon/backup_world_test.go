package daemon_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
)

// The leader takes a set's scheduled backup by itself: a set hadron runs on this
// machine (a dataDir, archiving with real pgbackrest into a directory repository)
// with spec.backup.schedule gets its first full backup from the leader's loop,
// without anyone running `hadron backup run`, and its working archive shows in status.
func TestLeaderTakesScheduledBackup(t *testing.T) {
	testenv.PostgresBin(t)
	testenv.LookPath(t, pgbackrest.Program)
	root := t.TempDir()
	pw := filepath.Join(root, "pg-password")
	cipher := filepath.Join(root, "cipher")
	for p, v := range map[string]string{pw: demotest.Password, cipher: "cipher-pass-of-the-test"} {
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	set := &v1alpha1.MirrorSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
		Spec: v1alpha1.MirrorSetSpec{
			Engine:      v1alpha1.EnginePostgres,
			Credentials: &v1alpha1.Credentials{User: "hadron", PasswordFrom: &v1alpha1.SecretRef{File: pw}},
			Members: []v1alpha1.Member{{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary,
				Address: v1alpha1.Endpoint{Address: demotest.FreeAddr(t)}, DataDir: filepath.Join(root, "east-0")}},
			Backup: &v1alpha1.Backup{
				Repository:     v1alpha1.BackupRepository{Path: filepath.Join(root, "repo")},
				CipherPassFrom: &v1alpha1.SecretRef{File: cipher},
				Schedule:       &v1alpha1.BackupSchedule{Full: &metav1.Duration{Duration: 168 * time.Hour}, Incremental: &metav1.Duration{Duration: time.Hour}},
			},
		},
	}
	t.Cleanup(func() { _ = pgserver.Kill(context.Background(), set.Spec.Members[0].DataDir) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var drv *postgres.Driver
	w := daemontest.Start(t, 193, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: set.Name}
		f.MirrorSets = []*v1alpha1.MirrorSet{set}
		// The set runs before the daemons start, as `hadron data bootstrap` leaves it.
		var err error
		if drv, err = postgres.ForSet(ctx, f, set, "", slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		if err := drv.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
	}})
	leader, _ := w.WaitLeader(t, coordtest.Sites...)

	var info *pgbackrest.StanzaInfo
	coordtest.Eventually(t, 3*time.Minute, "a full backup in the repository", func() bool {
		var err error
		info, err = drv.Backups(ctx, "east-0")
		return err == nil && len(info.Backups) > 0
	})
	b := info.Backups[0]
	t.Logf("the leader (%s) took %s (%s), %d bytes", leader, b.Label, b.Type, b.Size)
	if len(info.Backups) != 1 || b.Type != pgbackrest.Full || b.Error {
		t.Fatalf("repository after the leader's first check: %+v", info.Backups)
	}
	// The backup's own WAL went through archive_command, which status shows working.
	coordtest.Eventually(t, 30*time.Second, "status shows the archive working", func() bool {
		d := w.Status(t, leader).Apps[0].Data
		return d != nil && d.Archive != nil && d.Archive.LastArchived != "" && d.Archive.WaitingSegments == 0 && d.Archive.Error == ""
	})
	a := w.Status(t, leader).Apps[0].Data.Archive
	if a.Primary != "east-0" || a.OverBound || a.Bound != fmt.Sprint(2*v1alpha1.DefaultArchiveTimeout) {
		t.Fatalf("archive %+v", *a)
	}
}
