package postgres

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// Two caretakers of one member's data directory take turns: the second waits while
// the first holds the lock, and gets it once the first lets go. A member without a
// local directory needs no lock.
func TestLockMemberTakesTurns(t *testing.T) {
	m := v1alpha1.Member{Name: "east-0", DataDir: filepath.Join(t.TempDir(), "east-0")}
	ctx := context.Background()
	unlock, err := lockMember(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := lockMember(wctx, m); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second caretaker while the first holds the lock: %v, want it to wait until its context ends", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockMember(ctx, m)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(150 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("after the first let go: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second caretaker did not get the lock after the first let go")
	}
	if u, err := lockMember(ctx, v1alpha1.Member{Name: "remote"}); err != nil {
		t.Fatalf("member without a data directory: %v", err)
	} else {
		u()
	}
	if u, err := lockMember(ctx, v1alpha1.Member{Name: "elsewhere", DataDir: "/nonexistent/hadron/east-0"}); err != nil {
		t.Fatalf("member whose directory is not here: %v", err)
	} else {
		u()
	}
}
