package api_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/runbook"
)

// handover is a leadership that moves from east to west while the client asks: east
// has stepped down and names west, whose campaign is under way; west and the witness
// know no leader yet. West leads once it has been asked `after` times.
type handover struct {
	mu     sync.Mutex
	after  int
	asked  map[string]int
	order  []string // daemons in the order they were asked
	leader string   // "" until west leads
}

func (h *handover) start(site string) func(context.Context, api.RunRequest) (*runbook.Record, error) {
	return func(_ context.Context, req api.RunRequest) (*runbook.Record, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.asked[site]++
		h.order = append(h.order, site)
		if site == "west" && h.asked[site] > h.after {
			h.leader = "west"
		}
		if h.leader == site {
			return &runbook.Record{ID: "r1", App: req.App, Kind: req.Kind, To: req.To}, nil
		}
		if site == "east" {
			return nil, &api.NotLeaderError{Leader: "west"}
		}
		return nil, &api.NotLeaderError{}
	}
}

func (h *handover) clients(t *testing.T) []*api.Client {
	var out []*api.Client
	for _, site := range []string{"east", "west", "witness"} {
		c := serve(t, &api.RunbookHandlers{Start: h.start(site)})
		c.Site = site
		out = append(out, c)
	}
	return out
}

func startRun(ctx context.Context, c *api.Client) (*runbook.Record, error) {
	return c.StartRun(ctx, api.RunRequest{App: "shop", Kind: runbook.Failback, To: "east"})
}

// While the leadership moves every daemon refuses; First asks again until the new
// leader answers, and asks the daemon that the others name first.
func TestFirstWaitsForTheLeadershipToSettle(t *testing.T) {
	h := &handover{after: 3, asked: map[string]int{}}
	clients := h.clients(t)
	start := time.Now()
	rec, err := api.First(context.Background(), clients, 5*time.Second, 30*time.Second, startRun)
	if err != nil {
		t.Fatalf("First: %v (asked %v)", err, h.order)
	}
	if rec.ID != "r1" {
		t.Fatalf("record %+v", rec)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.order[len(h.order)-1] != "west" {
		t.Fatalf("answered by %s, want west (asked %v)", h.order[len(h.order)-1], h.order)
	}
	// Round 1 asks east, which names west: west next. Every later round starts at west.
	if want := []string{"east", "west", "witness", "west"}; strings.Join(h.order[:4], ",") != strings.Join(want, ",") {
		t.Errorf("asked %v, want it to start %v", h.order, want)
	}
	t.Logf("settled after %s, asked %v", time.Since(start).Round(time.Millisecond), h.order)
}

// A leadership that does not settle within the wait is an error that says so, with
// every daemon's refusal.
func TestFirstGivesUpAfterItsWait(t *testing.T) {
	h := &handover{after: 1 << 30, asked: map[string]int{}}
	clients := h.clients(t)
	start := time.Now()
	_, err := api.First(context.Background(), clients, 5*time.Second, 1500*time.Millisecond, startRun)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "did not settle") || !errors.Is(err, api.ErrNotLeader) {
		t.Fatalf("err %v, want the leadership not settled, with the refusals", err)
	}
	if took > 5*time.Second {
		t.Fatalf("gave up after %s, want about the 1.5 s wait", took)
	}
	if h.asked["west"] < 2 {
		t.Errorf("asked %v: want more than one round", h.asked)
	}
	// The context ends the wait too.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := api.First(ctx, clients, 5*time.Second, time.Minute, startRun); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("with a context of 0.5 s: %v after %s", err, time.Since(start))
	}
}

// A refusal that the leader gives (a run is open: 409 too) is the answer: no other
// daemon is asked, nothing is asked again.
func TestFirstReturnsTheLeadersRefusal(t *testing.T) {
	var calls atomic.Int32
	refuse := func(context.Context, api.RunRequest) (*runbook.Record, error) {
		calls.Add(1)
		return nil, fmt.Errorf("start: %w", runbook.ErrRunOpen)
	}
	c := serve(t, &api.RunbookHandlers{Start: refuse})
	other := serve(t, &api.RunbookHandlers{Start: refuse})
	_, err := api.First(context.Background(), []*api.Client{c, other}, 5*time.Second, time.Minute, startRun)
	if code(err) != 409 || !strings.Contains(err.Error(), runbook.ErrRunOpen.Error()) {
		t.Fatalf("err %v, want 409 run open", err)
	}
	if _, ok := api.NotLeader(err); ok {
		t.Errorf("a run-open refusal reads as not-the-leader: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// No daemon reachable and none refusing as not the leader: the answer at once, no
// waiting for a leadership that nobody said moves.
func TestFirstDoesNotWaitWhenNoDaemonAnswers(t *testing.T) {
	var clients []*api.Client
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		clients = append(clients, &api.Client{Addr: addr, Token: "secret"})
	}
	start := time.Now()
	_, err := api.First(context.Background(), clients, time.Second, time.Minute, startRun)
	if err == nil || !strings.Contains(err.Error(), "no daemon could answer") || strings.Contains(err.Error(), "did not settle") {
		t.Fatalf("err %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
}

// A daemon that predates the headers says who leads in its text only.
func TestNotLeaderReadsTheText(t *testing.T) {
	for msg, want := range map[string]string{
		"this daemon is not the leader: ask west": "west",
		"not the leader: ask east":                "east",
		"this daemon is not the leader: ask ":     "",
	} {
		got, ok := api.NotLeader(&api.StatusError{Code: 409, Msg: msg})
		if !ok || got != want {
			t.Errorf("%q: %q %v, want %q", msg, got, ok, want)
		}
	}
	if _, ok := api.NotLeader(&api.StatusError{Code: 409, Msg: "a run is open"}); ok {
		t.Error("run open read as not the leader")
	}
}
