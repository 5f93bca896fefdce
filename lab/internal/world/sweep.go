package world

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// WaitGone sends SIGTERM to pid if it is still alive after a grace period, then SIGKILL,
// and returns once it has exited.
func WaitGone(ctx context.Context, pid int) error {
	deadline := time.Now().Add(90 * time.Second)
	termAt := time.Now().Add(60 * time.Second)
	termed := false
	for alive(pid) {
		if time.Now().After(termAt) && !termed {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			termed = true
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("supervisor pid %d still running: %w", pid, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// Sweep stops processes a crashed supervisor may have left behind: database servers
// run detached from it (children of pg_ctl), containers outlive their containerd (their
// shims are re-parented), mounts, bridges and cgroups stay; everything else dies with it.
func Sweep(ctx context.Context, d Dir) error {
	return errors.Join(sweepPostgres(ctx, d), sweepRealNodes(ctx, d))
}
