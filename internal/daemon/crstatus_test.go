package daemon

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/crwrite"
)

type countRounds struct{ n *atomic.Int32 }

func (c countRounds) Round(context.Context) (crwrite.Result, error) {
	c.n.Add(1)
	return crwrite.Result{}, nil
}

// Only the leader writes status: the loop writes while its token leads and stops, by
// itself, once another daemon leads, even though its context goes on.
func TestCRStatusStopsWhenDeposed(t *testing.T) {
	f := coordtest.Fleet(195)
	f.Sites = f.Sites[:1]
	_, members := coordtest.StartCluster(t, f)
	c := members[0].Client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := coord.NewElector(c, "east", 5*time.Second)
	tok, err := first.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	loop := &crStatus{client: c, every: 20 * time.Millisecond, log: slog.New(slog.DiscardHandler),
		rounder: func() rounder { return countRounds{&n} }}
	ended := make(chan struct{})
	go func() { loop.lead(ctx, &term{tok: tok}); close(ended) }()
	coordtest.Eventually(t, 10*time.Second, "rounds while leading", func() bool { return n.Load() >= 3 })

	if err := first.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := coord.NewElector(c, "west", 5*time.Second).Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop goes on writing after another daemon took the lead")
	}
}
