package postgres

import (
	"fmt"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

func TestSwitchoverLosesNothing(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	l.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	l.insert(ctx, "east-0", 1, 300)

	var drv data.Driver = l.drv
	sw, ok := drv.(data.Switchover)
	if !ok {
		t.Fatal("the postgres driver does not offer Switchover")
	}
	res, err := sw.Switchover(ctx, "east-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss == nil || res.Loss.Bytes != 0 || res.Timeline != 2 {
		t.Fatalf("switchover result %+v loss %+v", res, res.Loss)
	}
	if n := l.count(ctx, "east-1"); n != 300 {
		t.Fatalf("east-1 has %d rows, want 300", n)
	}
	waitFor(t, ctx, "east-0 and west-0 following east-1", func() (bool, string) {
		st := l.status(ctx)
		e0, w0 := st.Member("east-0"), st.Member("west-0")
		return st.Primary == "east-1" && e0.Upstream == "east-1" && e0.State == data.StateStreaming && e0.Sync &&
			w0.Upstream == "east-1" && w0.State == data.StateStreaming, fmt.Sprintf("%+v", st.Members)
	})
	if v, err := l.drv.Verify(ctx); err != nil || !v.OK() {
		t.Fatalf("verify after switchover: %+v %v", v, err)
	}
}
