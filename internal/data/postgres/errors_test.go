package postgres

import (
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/retry"
)

func TestWrongCredentialsAndUnreachableChangeNothing(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	before := l.status(ctx)
	tok := data.TokenFor(*before.Member("east-1"), 0)

	bad := l.driver("not-the-password")
	if _, err := bad.Status(ctx); !errors.Is(err, data.ErrAuth) {
		t.Fatalf("status with a wrong password: %v, want ErrAuth", err)
	}
	if err := bad.Fence(ctx, "east-0", 0); !errors.Is(err, data.ErrAuth) {
		t.Fatalf("fence with a wrong password: %v, want ErrAuth", err)
	}
	_, err := bad.Promote(ctx, "east-1", tok)
	var perm *retry.PermanentError
	if !errors.Is(err, data.ErrAuth) || !errors.As(err, &perm) {
		t.Fatalf("promote with a wrong password: %v, want a permanent ErrAuth", err)
	}
	if err := bad.Rejoin(ctx, "east-1"); !errors.Is(err, data.ErrAuth) {
		t.Fatalf("rejoin with a wrong password: %v, want ErrAuth", err)
	}
	if _, err := data.Failover(ctx, bad, "west-0", data.FailoverOptions{Force: true}); !errors.Is(err, data.ErrAuth) {
		t.Fatalf("failover with a wrong password: %v, want ErrAuth", err)
	}
	assertUnchanged(t, l)

	// A token for another system or timeline is refused before anything changes.
	wrong := tok
	wrong.SystemID++
	if _, err := l.drv.Promote(ctx, "east-1", wrong); !errors.Is(err, data.ErrTokenMismatch) {
		t.Fatalf("promote with a foreign token: %v", err)
	}
	wrong = tok
	wrong.Timeline = 2
	if _, err := l.drv.Promote(ctx, "east-1", wrong); !errors.Is(err, data.ErrTokenMismatch) {
		t.Fatalf("promote with a wrong timeline: %v", err)
	}
	assertUnchanged(t, l)

	// An unreachable member: reported, not promoted, and the rest untouched.
	if err := pgserver.Stop(ctx, l.member("west-0").DataDir, pgserver.StopFast); err != nil {
		t.Fatal(err)
	}
	st := l.status(ctx)
	if m := st.Member("west-0"); m.Reachable || m.State != data.StateUnreachable || m.Error == "" {
		t.Fatalf("stopped west-0 shows as %+v", *m)
	}
	_, err = data.Failover(ctx, l.drv, "west-0", data.FailoverOptions{Force: true})
	if !errors.Is(err, data.ErrUnreachable) {
		t.Fatalf("promote an unreachable member: %v", err)
	}
	_, err = l.drv.Promote(ctx, "west-0", tok)
	if !errors.Is(err, data.ErrUnreachable) || !retry.IsRetryable(err) {
		t.Fatalf("promote an unreachable member: %v, want a retryable ErrUnreachable", err)
	}
	if st := l.status(ctx); st.Primary != "east-0" || st.Member("east-0").State != data.StatePrimary {
		t.Fatalf("the set changed: %+v", st.Members)
	}
}

// assertUnchanged checks the set is as bootstrapped: east-0 writing, both standbys streaming.
func assertUnchanged(t *testing.T, l *lab) {
	t.Helper()
	st := l.status(testCtx(t, time.Minute))
	for _, m := range st.Members {
		want := data.StateStreaming
		if m.Member == "east-0" {
			want = data.StatePrimary
		}
		if m.State != want {
			t.Fatalf("%s is %s, want %s: %+v", m.Member, m.State, want, m)
		}
	}
}
