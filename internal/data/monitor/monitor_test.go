package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/memory"
)

// TestMonitorFailsOverAndHeals drives the monitor loop step by step against the
// in-memory driver: the primary disappears, the synchronous member is promoted after
// FailAfter observations, the DR member follows it, and the old primary, back on its
// old timeline, is fenced and rejoined.
func TestMonitorFailsOverAndHeals(t *testing.T) {
	s := &memory.Set{SystemID: 7, Members: []*memory.Member{
		{Name: "east-0", Region: "east", Role: "primary", Primary: true, Reachable: true, Timeline: 1},
		{Name: "east-1", Region: "east", Role: "failover", Reachable: true, Timeline: 1, Upstream: "east-0", Sync: true},
		{Name: "west-0", Region: "west", Role: "dr-async", Reachable: true, Timeline: 1, Upstream: "east-0"},
	}}
	s.Write(100, true)
	m := &Monitor{Driver: s, Config: Config{FailAfter: 3}}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	m.Step(ctx, log)
	if m.mem.Sync != "east-1" {
		t.Fatalf("sync member %q, want east-1", m.mem.Sync)
	}
	s.Members[0].Reachable = false // east-0 dies
	for i := 0; i < 3; i++ {
		m.Step(ctx, log)
	}
	if got := fmt.Sprint(s.Calls); got != "[promote east-1]" {
		t.Fatalf("after 3 observations without a primary: %s", got)
	}
	m.Step(ctx, log)
	if got := fmt.Sprint(s.Calls); got != "[promote east-1 rejoin west-0]" {
		t.Fatalf("the DR member was not repointed: %s", got)
	}
	s.Members[0].Reachable = true // east-0 returns, still a primary on timeline 1
	m.Step(ctx, log)
	if got := fmt.Sprint(s.Calls); got != "[promote east-1 rejoin west-0 fence east-0 rejoin east-0]" {
		t.Fatalf("the old primary was not fenced and rejoined: %s", got)
	}
	st, _ := s.Status(ctx)
	for _, ms := range st.Members {
		if ms.Member != "east-1" && (ms.State != data.StateStreaming || ms.Upstream != "east-1") {
			t.Fatalf("%s is %s from %q", ms.Member, ms.State, ms.Upstream)
		}
	}
	m.Step(ctx, log)
	if len(s.Calls) != 4 {
		t.Fatalf("a healthy set caused actions: %v", s.Calls)
	}
}
