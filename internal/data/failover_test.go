package data_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/memory"
)

// newSet is east-0 primary, east-1 synchronous, west-0 asynchronous, after 10 writes
// that every member received.
func newSet() *memory.Set {
	s := &memory.Set{SystemID: 7, Members: []*memory.Member{
		{Name: "east-0", Region: "east", Role: "primary", Primary: true, Reachable: true, Timeline: 1},
		{Name: "east-1", Region: "east", Role: "failover", Reachable: true, Timeline: 1, Upstream: "east-0", Sync: true},
		{Name: "west-0", Region: "west", Role: "dr-async", Reachable: true, Timeline: 1, Upstream: "east-0"},
	}}
	for i := 0; i < 10; i++ {
		s.Write(100, true)
	}
	return s
}

func TestFailover(t *testing.T) {
	ctx := context.Background()
	member := func(s *memory.Set, name string) *memory.Member {
		for _, m := range s.Members {
			if m.Name == name {
				return m
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
	// lagging: the DR member misses the last 3 writes.
	lagging := func() *memory.Set {
		s := newSet()
		member(s, "west-0").Upstream = "" // the link is cut
		s.Write(100, true)
		s.Write(100, true)
		s.Write(100, true)
		return s
	}
	for _, tc := range []struct {
		name      string
		set       func() *memory.Set
		opts      data.FailoverOptions
		wantCalls string
		wantErr   error
		wantLoss  string // bytes/transactions
	}{
		{name: "caught up: no force needed; old primary fenced first", set: newSet,
			wantCalls: "[fence east-0 promote west-0]", wantLoss: "0/0"},
		{name: "lagging without force: refused, nothing done", set: lagging,
			wantCalls: "[]", wantErr: data.ErrDataLoss},
		{name: "lagging with force: promoted, loss counted on the old primary", set: lagging, opts: data.FailoverOptions{Force: true},
			wantCalls: "[fence east-0 promote west-0]", wantLoss: "300/3"},
		{name: "fencing a reachable primary fails: no promotion", set: func() *memory.Set {
			s := newSet()
			member(s, "east-0").FenceErr = errors.New("boom")
			return s
		}, opts: data.FailoverOptions{Force: true}, wantCalls: "[]", wantErr: errors.New("boom")},
		{name: "no primary reachable: loss unknown, force needed", set: func() *memory.Set {
			s := newSet()
			member(s, "east-0").Reachable = false
			return s
		}, wantCalls: "[]", wantErr: data.ErrDataLoss},
		{name: "no primary reachable, forced: promoted, loss unknown", set: func() *memory.Set {
			s := newSet()
			member(s, "east-0").Reachable = false
			return s
		}, opts: data.FailoverOptions{Force: true}, wantCalls: "[promote west-0]", wantLoss: "-1/-1"},
		{name: "monitor remembered the old primary's position", set: func() *memory.Set {
			s := newSet()
			member(s, "east-0").Reachable = false
			return s
		}, opts: data.FailoverOptions{LastKnownFlush: 1000}, wantCalls: "[promote west-0]", wantLoss: "0/-1"},
		{name: "an unreachable member is not promoted", set: func() *memory.Set {
			s := newSet()
			member(s, "west-0").Reachable = false
			return s
		}, opts: data.FailoverOptions{Force: true}, wantCalls: "[]", wantErr: data.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.set()
			res, err := data.Failover(ctx, s, "west-0", tc.opts)
			if got := fmt.Sprint(s.Calls); got != tc.wantCalls {
				t.Errorf("calls %s, want %s", got, tc.wantCalls)
			}
			if tc.wantErr != nil {
				if err == nil || (!errors.Is(err, tc.wantErr) && err.Error() != tc.wantErr.Error() && !strings.Contains(err.Error(), tc.wantErr.Error())) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%d/%d", res.Loss.Bytes, res.Loss.Transactions); got != tc.wantLoss {
				t.Fatalf("loss %s, want %s (%+v)", got, tc.wantLoss, *res.Loss)
			}
		})
	}
}
