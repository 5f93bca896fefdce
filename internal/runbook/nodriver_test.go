package runbook_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/runbook"
)

// An application with a mirror set that the acting daemon has no driver for is not an
// application without one: its failover stops at fence, before DNS moves, with a
// permanent error naming the daemon, the set and why — one attempt, the run left open
// and failed for a daemon that can act. A switchover stops at its first data step.
func TestNoDriverFailsDataStepsPermanently(t *testing.T) {
	ctx, c, tok := leading(t, 238)
	cause := &fs.PathError{Op: "open", Path: "/etc/hadron/pg-password", Err: fs.ErrPermission}
	env := &runbook.Env{Client: c, NoDriver: &runbook.NoDriverError{Daemon: "west", Set: "shop-db",
		Err: errors.Join(data.ErrPasswordMissing, cause)}}
	eng := &runbook.Engine{Client: c, Steps: env.Steps(), Budget: 20 * time.Second}

	rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop", "east", "west", "auto", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = eng.Run(ctx, tok, rec)
	var nd *runbook.NoDriverError
	var perm *retry.PermanentError
	if !errors.As(err, &nd) || !errors.As(err, &perm) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("failover without a driver: %v, want a permanent NoDriverError", err)
	}
	open, err := runbook.Open(ctx, c, "shop")
	if err != nil || open == nil {
		t.Fatalf("open run: %+v %v", open, err)
	}
	fence := open.Steps[0]
	want := "daemon west cannot act on mirror set shop-db: "
	if open.Status != runbook.StatusFailed || fence.Name != runbook.StepFence || fence.Ended != nil ||
		fence.Attempt != 1 || !strings.HasPrefix(fence.Error, want) || !strings.Contains(fence.Error, "permission denied") {
		t.Fatalf("open run: status %s, step %s ended %v attempt %d error %q; want failed at fence once with %q…",
			open.Status, fence.Name, fence.Ended, fence.Attempt, fence.Error, want)
	}
	resp, err := c.Get(ctx, coord.ActiveKey("shop"))
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("DNS moved although nothing was fenced: %v %v", resp.Kvs, err)
	}

	rec, err = runbook.Launch(ctx, c, tok, runbook.Switchover, "cart", "east", "west", "alice", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(ctx, tok, rec); !errors.As(err, &nd) {
		t.Fatalf("switchover without a driver: %v, want NoDriverError", err)
	}
	if open, _ := runbook.Open(ctx, c, "cart"); open == nil || open.Steps[0].Name != runbook.StepReady || open.Steps[0].Error == "" {
		t.Fatalf("switchover run: %+v, want failed at ready", open)
	}

	// Without a mirror set the same steps have nothing to do.
	plain := &runbook.Engine{Client: c, Steps: (&runbook.Env{Client: c}).Steps(), Budget: 20 * time.Second}
	rec, err = runbook.Launch(ctx, c, tok, runbook.Failover, "web", "east", "west", "auto", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Run(ctx, tok, rec); err != nil {
		t.Fatalf("failover of an application without a mirror set: %v", err)
	}
}
