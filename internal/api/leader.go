package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Only the leader starts and decides runs; every other daemon refuses with 409 and
// names the leader it knows. The leadership moves on its own — a leader hands it to
// a better-placed daemon (internal/daemon/placement.go), a leader that dies is
// replaced once its lease ends — and for a moment every daemon may refuse: the old
// leader has stepped down and names its successor, which has not won the election
// yet and names the old one (or none). A client that gives up then fails a person's
// command for no reason: First asks again, the named leader first, until the
// leadership settles or its wait ends.

// NotLeaderError is a daemon's refusal of a request only the leader serves. Leader
// is the daemon it believes leads ("" when it knows none).
type NotLeaderError struct {
	Leader string
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return ErrNotLeader.Error() + ": no leader now"
	}
	return ErrNotLeader.Error() + ": ask " + e.Leader
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Headers of a not-the-leader refusal, beside its text: the client reads these first.
const (
	headerNotLeader = "Hadron-Not-Leader"
	headerLeader    = "Hadron-Leader"
)

// DefaultLeaderWait is how long First waits for the leadership to settle when its
// caller gives no wait: a hand-over takes seconds, a dead leader's lease a few more.
const DefaultLeaderWait = time.Minute

// Backoff between First's rounds while the leadership moves.
var (
	leaderRetryFirst = 200 * time.Millisecond
	leaderRetryMax   = 2 * time.Second
)

// NotLeader says whether err is a daemon's refusal because it does not lead, and
// which daemon it named as the leader ("" when none). It reads the answer of a daemon
// that predates the headers from its text ("…not the leader: ask west").
func NotLeader(err error) (leader string, ok bool) {
	var nl *NotLeaderError
	if errors.As(err, &nl) {
		return nl.Leader, true
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict {
		return "", false
	}
	if se.notLeader {
		return se.leader, true
	}
	if !strings.Contains(se.Msg, "not the leader") {
		return "", false
	}
	if _, after, found := strings.Cut(se.Msg, "ask "); found {
		if f := strings.Fields(after); len(f) > 0 {
			leader = strings.TrimRight(f[0], ".,;:")
		}
	}
	return leader, true
}

// final says whether err is an answer another daemon would give too (a refusal of the
// request itself), so asking on is pointless: anything but a transport error, a 5xx and
// a not-the-leader refusal.
func final(err error) bool {
	if errors.Is(err, ErrUnauthorized) {
		return true
	}
	if _, ok := NotLeader(err); ok {
		return false
	}
	var se *StatusError
	return errors.As(err, &se) && se.Code < 500
}

// First calls fn on the daemons in turn, each call bounded by each, until one answers;
// an error that another daemon would give too (final) is the answer. A daemon that
// refuses because it does not lead sends First to the leader it names next. When no
// daemon answered and one of them refused as not the leader, the leadership is moving:
// First asks again, the named leader first, with backoff, until ctx ends or wait (0:
// DefaultLeaderWait) passes. A round in which every daemon failed otherwise (none
// reachable) is the answer at once.
func First[T any](ctx context.Context, clients []*Client, each, wait time.Duration, fn func(context.Context, *Client) (T, error)) (T, error) {
	var zero T
	if len(clients) == 0 {
		return zero, errors.New("no daemon to ask")
	}
	if wait <= 0 {
		wait = DefaultLeaderWait
	}
	giveUp := time.Now().Add(wait)
	delay := leaderRetryFirst
	hint := ""
	for round := 1; ; round++ {
		var errs []error
		moving := false
		queue := askFirst(clients, hint)
		asked := map[*Client]bool{}
		for len(queue) > 0 {
			cl := queue[0]
			queue = queue[1:]
			if asked[cl] {
				continue
			}
			asked[cl] = true
			actx, cancel := context.WithTimeout(ctx, each)
			v, err := fn(actx, cl)
			cancel()
			if err == nil {
				return v, nil
			}
			if final(err) {
				return v, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", cl.Addr, err))
			if leader, ok := NotLeader(err); ok {
				moving = true
				if leader != "" && leader != cl.Site {
					hint = leader
					queue = askFirst(remaining(clients, asked), leader)
				}
			}
		}
		err := fmt.Errorf("no daemon could answer: %w", errors.Join(errs...))
		if !moving {
			return zero, err
		}
		if ctx.Err() != nil || !time.Now().Add(delay).Before(giveUp) {
			return zero, fmt.Errorf("the leadership did not settle in %s (%d rounds): %w", wait, round, err)
		}
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("the leadership did not settle (%d rounds): %w", round, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, leaderRetryMax)
	}
}

// askFirst orders clients with the daemon of site leader first, the others in their
// order.
func askFirst(clients []*Client, leader string) []*Client {
	out := make([]*Client, 0, len(clients))
	for _, c := range clients {
		if leader != "" && c.Site == leader {
			out = append(out, c)
		}
	}
	for _, c := range clients {
		if leader == "" || c.Site != leader {
			out = append(out, c)
		}
	}
	return out
}

// remaining are the clients not asked yet, in their order.
func remaining(clients []*Client, asked map[*Client]bool) []*Client {
	var out []*Client
	for _, c := range clients {
		if !asked[c] {
			out = append(out, c)
		}
	}
	return out
}
