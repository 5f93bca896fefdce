package postgres

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

// TestRejoinRefusesToRewindANewerPrimary: west-0 promoted (timeline 2) and then
// fenced, while the old primary east-0 still takes writes on timeline 1 — what a
// self-fenced new primary and a restored old site look like. Rejoining west-0 to
// east-0 would rewind it and discard timeline 2's writes; the member is left as it is.
func TestRejoinRefusesToRewindANewerPrimary(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	waitFor(t, ctx, "west-0 caught up", func() (bool, string) {
		m := l.status(ctx).Member("west-0")
		return m.State == data.StateStreaming && m.LagBytes == 0, string(m.State)
	})
	l.cut()
	w := l.status(ctx).Member("west-0")
	if _, err := l.drv.Promote(ctx, "west-0", data.TokenFor(*w, 0)); err != nil {
		t.Fatalf("promote west-0: %v", err)
	}
	l.exec(ctx, "west-0", `insert into seq values (1)`)
	if err := l.drv.Fence(ctx, "west-0", 0); err != nil {
		t.Fatalf("fence west-0: %v", err)
	}
	l.heal()

	err := l.drv.Rejoin(ctx, "west-0")
	if err == nil || !strings.Contains(err.Error(), "newer than east-0") {
		t.Fatalf("rejoin of the newer, fenced primary west-0 = %v, want a refusal naming east-0", err)
	}
	if n := l.count(ctx, "west-0"); n != 1 {
		t.Errorf("west-0 holds %d rows of timeline 2 after the refused rejoin, want 1", n)
	}
}
