package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"hadron.dev/hadron/internal/api"
)

// Watch asks poll every interval until ctx ends and draws each answer that differs
// from the last one drawn, times and probe latencies aside. For a person (text) on a
// terminal each drawing replaces the last; elsewhere a line with the time separates
// them. An error is said once on errOut, and again only when it changes; watching goes
// on. Watch returns nil when ctx ends.
func Watch(ctx context.Context, out, errOut io.Writer, interval time.Duration,
	poll func(context.Context) (api.Status, error), draw func(io.Writer, api.Status) error, text bool) error {
	var lastKey, lastErr string
	drawn := 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := poll(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if msg := err.Error(); msg != lastErr {
				fmt.Fprintf(errOut, "%s %v\n", time.Now().Format("15:04:05"), err)
				lastErr, lastKey = msg, ""
			}
		default:
			lastErr = ""
			if key := changeKey(st); key != lastKey {
				var b bytes.Buffer
				if text && drawn > 0 {
					if terminal(out) {
						b.WriteString("\033[H\033[2J")
					} else {
						fmt.Fprintf(&b, "\n--- %s\n", time.Now().Format("15:04:05"))
					}
				}
				if err := draw(&b, st); err != nil {
					return err
				}
				if _, err := out.Write(b.Bytes()); err != nil {
					return err
				}
				lastKey = key
				drawn++
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// volatile are the fields that change at every answer without the fleet changing.
var volatile = map[string]bool{"time": true, "at": true, "lastQuorum": true, "latencyMs": true}

// changeKey is st without its volatile fields: two answers with one key draw alike
// but for times and latencies.
func changeKey(st api.Status) string {
	b, err := json.Marshal(st)
	if err != nil {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return ""
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if volatile[k] {
					delete(v, k)
					continue
				}
				strip(c)
			}
		case []any:
			for _, c := range v {
				strip(c)
			}
		}
	}
	strip(v)
	b, _ = json.Marshal(v)
	return string(b)
}

// terminal says whether w is a terminal, where a drawing can replace the last.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
