package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// fakeKeeper is a driver whose KeepBound refuses standbys at once and runs on the
// primary until ctx ends or the primary changes.
type fakeKeeper struct {
	data.Driver
	mu      sync.Mutex
	primary string
	calls   []string
}

func (f *fakeKeeper) KeepBound(ctx context.Context, member string, _ postgres.KeeperOptions) error {
	f.mu.Lock()
	f.calls = append(f.calls, member)
	primary := f.primary
	f.mu.Unlock()
	if member != primary {
		return errors.New("a standby")
	}
	for ctx.Err() == nil {
		f.mu.Lock()
		moved := f.primary != member
		f.mu.Unlock()
		if moved {
			return errors.New("stream ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ctx.Err()
}

func (f *fakeKeeper) keptOn() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, c := range f.calls {
		out[c]++
	}
	return out
}

// Every daemon keeps the bound of each bounded set on its own site's primary, and
// follows a promotion at its site; it runs no keeper for a set in another mode or
// without a member at its site.
func TestKeepBoundsRunsOnTheLocalPrimary(t *testing.T) {
	set := func(name string) *v1alpha1.MirrorSet {
		return &v1alpha1.MirrorSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.MirrorSetSpec{Members: []v1alpha1.Member{
			{Name: name + "-e0", Site: "east", Role: v1alpha1.RolePrimary},
			{Name: name + "-e1", Site: "east", Role: v1alpha1.RoleFailover},
			{Name: name + "-w0", Site: "west", Role: v1alpha1.RoleDRAsync},
		}}}
	}
	app := func(name, set string, dl *v1alpha1.DataLoss) *v1alpha1.Application {
		return &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ApplicationSpec{Data: &v1alpha1.DataRef{MirrorSet: set}, Policy: v1alpha1.Policy{DataLoss: dl}}}
	}
	f := &fleet.Fleet{
		MirrorSets: []*v1alpha1.MirrorSet{set("b"), set("a")},
		Applications: []*v1alpha1.Application{
			app("bounded", "b", &v1alpha1.DataLoss{Mode: v1alpha1.DataLossBounded, Bound: &metav1.Duration{Duration: 200 * time.Millisecond}}),
			app("async", "a", nil),
		},
	}
	b := &fakeKeeper{primary: "b-e0"}
	a := &fakeKeeper{primary: "a-e0"}
	v := &dataView{fleet: f, site: "east", log: slog.New(slog.DiscardHandler),
		drivers: map[string]data.Driver{"b": b, "a": a}, localSets: map[string]bool{"b": true, "a": true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.keepBounds(ctx) }()
	defer func() { cancel(); <-done }()

	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: calls %v", what, b.keptOn())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("keeper on b-e0", func() bool { return b.keptOn()["b-e0"] >= 1 })
	b.mu.Lock()
	b.primary = "b-e1" // the in-region failover member promoted
	b.mu.Unlock()
	waitUntil("keeper on b-e1 after its promotion", func() bool { return b.keptOn()["b-e1"] >= 1 })
	if n := b.keptOn()["b-w0"]; n != 0 {
		t.Fatalf("keeper tried west's member from east: %d", n)
	}
	if len(a.keptOn()) != 0 {
		t.Fatalf("a keeper ran for an async set: %v", a.keptOn())
	}
}
