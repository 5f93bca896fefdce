package daemon

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// fakeBackuper finds a backup due at every check and, as the postgres driver does,
// asks the guard right before it would start one. (The driver's own check against
// real PostgreSQL and pgbackrest is postgres.TestScheduledBackupFollowsFailover.)
type fakeBackuper struct {
	data.Driver
	mu                sync.Mutex
	schedules         []pgbackrest.Schedule
	started, refused  int
	startedAfterFence bool
	fenced            bool // set by the test once the token is superseded
}

func (f *fakeBackuper) ScheduledBackup(ctx context.Context, s pgbackrest.Schedule, _ time.Time, guard func(context.Context) error, _ time.Duration) (pgbackrest.Decision, error) {
	dec := pgbackrest.Decision{Type: pgbackrest.Incr, Reason: "test"}
	// Read before the guard: a guard that passed just before the test superseded the
	// token is not a violation; one asked after is.
	f.mu.Lock()
	fenced := f.fenced
	f.mu.Unlock()
	err := guard(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schedules = append(f.schedules, s)
	if err != nil {
		f.refused++
		return dec, err
	}
	f.started++
	if fenced {
		f.startedAfterFence = true
	}
	return dec, nil
}

// The loop checks each scheduled set while its token leads, passing the fleet's
// schedule; once another daemon leads, the guard refuses the backup and the loop ends
// by itself, having started none after the hand-over.
func TestBackupScheduleStopsWhenDeposed(t *testing.T) {
	f := coordtest.Fleet(191)
	_, members := coordtest.StartCluster(t, f)
	f.MirrorSets = []*v1alpha1.MirrorSet{{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
		Spec: v1alpha1.MirrorSetSpec{Backup: &v1alpha1.Backup{Schedule: &v1alpha1.BackupSchedule{
			Full: &metav1.Duration{Duration: 168 * time.Hour}, Incremental: &metav1.Duration{Duration: time.Hour}}}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "unscheduled"},
		Spec:       v1alpha1.MirrorSetSpec{Backup: &v1alpha1.Backup{}},
	}}
	drv, other := &fakeBackuper{}, &fakeBackuper{}
	v := &dataView{drivers: map[string]data.Driver{"shop-db": drv, "unscheduled": other}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	first := coord.NewElector(members[0].Client, "east", 5*time.Second)
	tok, err := first.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := &backupSchedules{fleet: f, client: members[0].Client, data: v, every: 10 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		b.lead(ctx, &term{tok: tok})
	}()
	coordtest.Eventually(t, 30*time.Second, "two scheduled backups started", func() bool {
		drv.mu.Lock()
		defer drv.mu.Unlock()
		return drv.started >= 2
	})

	if err := first.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	drv.mu.Lock()
	drv.fenced = true
	drv.mu.Unlock()
	second := coord.NewElector(members[1].Client, "west", 5*time.Second)
	if _, err := second.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatal("the loop still runs after its token was superseded")
	}
	drv.mu.Lock()
	defer drv.mu.Unlock()
	if drv.refused == 0 || drv.startedAfterFence {
		t.Fatalf("after the hand-over: %d refused, a backup started %v; want a refusal and none started", drv.refused, drv.startedAfterFence)
	}
	want := pgbackrest.Schedule{Full: 168 * time.Hour, Incremental: time.Hour}
	for _, s := range drv.schedules {
		if s != want {
			t.Fatalf("schedule passed %+v, want %+v", s, want)
		}
	}
	if len(other.schedules) != 0 {
		t.Fatalf("a set without a schedule was checked %d times", len(other.schedules))
	}
}
