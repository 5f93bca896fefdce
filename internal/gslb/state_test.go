package gslb

import (
	"context"
	"testing"
	"time"

	"hadron.dev/hadron/internal/probe"
)

func TestMemStore(t *testing.T) {
	m := NewMemStore()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := m.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	m.SetHealth("shop", "east", probe.Down)
	m.SetHealth("shop", "east", probe.Down) // no change, no new version
	m.SetActive("shop", "west")
	// A slow reader sees the newest state, not every one.
	var last State
	select {
	case last = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no state after changes")
	}
	if last.Version != first.Version+2 {
		t.Fatalf("version %d, want %d", last.Version, first.Version+2)
	}
	if a := last.Apps["shop"]; a.Active != "west" || a.Health["east"] != probe.Down {
		t.Fatalf("state %+v", a)
	}
	// States handed out are never changed afterwards.
	m.SetHealth("shop", "east", probe.Up)
	if last.Apps["shop"].Health["east"] != probe.Down {
		t.Fatal("a published state was mutated")
	}
	cur, _ := m.Current(ctx)
	if cur.Apps["shop"].Health["east"] != probe.Up {
		t.Fatalf("current %+v", cur)
	}
}
