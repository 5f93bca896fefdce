package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
)

// readView reads the stream up to its next "view" event.
func readView(t *testing.T, sc *bufio.Scanner) View {
	t.Helper()
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "view":
			var v View
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("stream ended: %v", sc.Err())
	return View{}
}

// The stream sends the view at once, then a new one when the source signals a
// change; the change is what the view shows, not a time that passed (the refresh tick
// is set far beyond the test).
func TestEventsFollowChanges(t *testing.T) {
	var active atomic.Value
	active.Store("east")
	changes := make(chan struct{}, 1)
	s := New(Source{
		Status: func(context.Context) api.Status {
			return api.Status{Daemon: "west", Apps: []api.App{{Name: "shop", Active: active.Load().(string)}}}
		},
		Changes: func(context.Context) <-chan struct{} { return changes },
	}, nil)
	s.Refresh, s.MinGap = time.Hour, 0
	srv := httptest.NewServer(s.Routes()["GET /ui/events"])
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if v := readView(t, sc); v.Kind != Kind || v.Apps[0].Active != "east" {
		t.Fatalf("first view: %+v", v)
	}
	active.Store("west")
	changes <- struct{}{}
	if v := readView(t, sc); v.Apps[0].Active != "west" {
		t.Fatalf("view after the change: active %s, want west", v.Apps[0].Active)
	}
}
