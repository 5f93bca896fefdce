package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
)

// Watch draws an answer only when it changes (a later time or other latencies are no
// change), says an error once, and returns when its context ends.
func TestWatchDrawsChanges(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	obs := func(ms float64) []api.App {
		return []api.App{{Name: "shop", Observations: map[string]map[string]api.Observation{"east": {"east": {OK: true, LatencyMS: ms, At: t0.Add(time.Duration(ms))}}}}}
	}
	a := api.Status{Daemon: "east", Time: t0, Leader: "east", Apps: obs(0.4)}
	later := api.Status{Daemon: "east", Time: t0.Add(2 * time.Second), Leader: "east", Apps: obs(1.3)}
	moved := api.Status{Daemon: "east", Time: t0.Add(4 * time.Second), Leader: "west", Apps: obs(0.5)}
	down := errors.New("no daemon answered: east: connection refused")
	seq := []any{a, later, down, down, moved, moved}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	poll := func(ctx context.Context) (api.Status, error) {
		if i == len(seq) {
			cancel()
			return api.Status{}, ctx.Err()
		}
		v := seq[i]
		i++
		if err, ok := v.(error); ok {
			return api.Status{}, err
		}
		return v.(api.Status), nil
	}
	draw := func(w io.Writer, st api.Status) error {
		_, err := fmt.Fprintf(w, "leader %s\n", st.Leader)
		return err
	}
	var out, errOut bytes.Buffer
	if err := Watch(ctx, &out, &errOut, time.Millisecond, poll, draw, true); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^leader east\n\n--- \d\d:\d\d:\d\d\nleader west\n$`).MatchString(out.String()) {
		t.Errorf("drawn:\n%s", out.String())
	}
	if strings.Count(errOut.String(), "connection refused") != 1 {
		t.Errorf("errors said:\n%s", errOut.String())
	}
}
