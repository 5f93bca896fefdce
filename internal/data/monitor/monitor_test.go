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

// ctxChecked is the in-memory driver whose actions fail, as a real driver's do, when
// their context has ended before they start.
type ctxChecked struct {
	*memory.Set
	ended []string
}

func (c *ctxChecked) check(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		c.ended = append(c.ended, what)
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (c *ctxChecked) Fence(ctx context.Context, member string, tok int64) error {
	if err := c.check(ctx, "fence "+member); err != nil {
		return err
	}
	return c.Set.Fence(ctx, member, tok)
}

func (c *ctxChecked) Rejoin(ctx context.Context, member string) error {
	if err := c.check(ctx, "rejoin "+member); err != nil {
		return err
	}
	return c.Set.Rejoin(ctx, member)
}

func (c *ctxChecked) Promote(ctx context.Context, member string, tok data.PromotionToken) (*data.PromoteResult, error) {
	if err := c.check(ctx, "promote "+member); err != nil {
		return nil, err
	}
	return c.Set.Promote(ctx, member, tok)
}

// Step alone (the daemon's leader calls it, not Run) gives each action a live context
// although the monitor sets no ActionTimeout: a zero bound once handed every action a
// context that had already ended, so the daemon's monitor never fenced, promoted or
// rejoined ("rejoin east-0: no primary found", every second).
func TestStepActsWithoutActionTimeout(t *testing.T) {
	s := &ctxChecked{Set: &memory.Set{SystemID: 7, Members: []*memory.Member{
		{Name: "east-0", Region: "east", Role: "primary", Primary: true, Reachable: true, Timeline: 1},
		{Name: "east-1", Region: "east", Role: "failover", Reachable: true, Timeline: 1, Upstream: "east-0", Sync: true},
	}}}
	s.Write(100, true)
	m := &Monitor{Driver: s, Config: Config{FailAfter: 3}}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	m.Step(ctx, log)
	s.Members[0].Reachable = false // east-0 dies
	for range 3 {
		m.Step(ctx, log)
	}
	s.Members[0].Reachable = true // back as a primary on the old timeline
	m.Step(ctx, log)
	if len(s.ended) > 0 {
		t.Fatalf("actions got an ended context: %v", s.ended)
	}
	if got := fmt.Sprint(s.Calls); got != "[promote east-1 fence east-0 rejoin east-0]" {
		t.Fatalf("calls %s, want east-1 promoted, east-0 fenced and rejoined", got)
	}
}

// TestNewLeaderStartsFromWhatItSaw: a monitor that starts while the primary is
// already down promotes nothing from nothing, and promotes the synchronous member when
// seeded (Initial) with an earlier observation of the healthy set — a daemon that
// became leader mid-failover.
func TestNewLeaderStartsFromWhatItSaw(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	newSet := func() *memory.Set {
		s := &memory.Set{SystemID: 7, Members: []*memory.Member{
			{Name: "east-0", Region: "east", Role: "primary", Primary: true, Reachable: true, Timeline: 1},
			{Name: "east-1", Region: "east", Role: "failover", Reachable: true, Timeline: 1, Upstream: "east-0", Sync: true},
		}}
		s.Write(100, true)
		return s
	}
	cfg := Config{FailAfter: 3}

	s := newSet()
	s.Members[0].Reachable = false
	m := &Monitor{Driver: s, Config: cfg}
	for range 5 {
		m.Step(ctx, log)
	}
	if len(s.Calls) != 0 {
		t.Fatalf("unseeded monitor acted: %v", s.Calls)
	}

	s = newSet()
	healthy, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := Decide(Memory{}, healthy, cfg)
	s.Members[0].Reachable = false
	m = &Monitor{Driver: s, Config: cfg, Initial: seed}
	for range 3 {
		m.Step(ctx, log)
	}
	if got := fmt.Sprint(s.Calls); got != "[promote east-1]" {
		t.Fatalf("seeded monitor: calls %s, want east-1 promoted", got)
	}
}
