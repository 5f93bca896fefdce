package load_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"hadron.dev/hadron/internal/demo"
	"hadron.dev/hadron/internal/demo/demoapi"
	"hadron.dev/hadron/internal/load"
)

// faulty wraps the demo handler: writes of seqs in fail get a 503, writes of seqs in
// forget are acknowledged without being stored (as a failover to a stale replica
// would lose them).
func faulty(h http.Handler, fail, forget [2]int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseInt(r.URL.Query().Get("seq"), 10, 64)
		if r.URL.Path == "/write" {
			switch {
			case seq >= fail[0] && seq <= fail[1]:
				http.Error(w, `{"error":"injected"}`, http.StatusServiceUnavailable)
				return
			case seq >= forget[0] && seq <= forget[1]:
				_ = json.NewEncoder(w).Encode(demoapi.WriteResponse{ID: 1000 + seq, Client: r.URL.Query().Get("client"), Seq: seq, Site: "ghost"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func TestRunCountsFailuresAndLostWrites(t *testing.T) {
	srv := httptest.NewServer(faulty(demo.NewHandler("east", demo.NewMemStore(), nil), [2]int64{20, 29}, [2]int64{40, 44}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One worker keeps send order equal to seq order, so the window is exact.
	res, err := load.Run(ctx, load.Config{URL: srv.URL, Client: "t1", Rate: 1000, Duration: time.Minute, Workers: 1, MaxWrites: 60})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attempts) != 60 || res.Attempts[0].Seq != 1 || res.Attempts[59].Seq != 60 {
		t.Fatalf("attempts: %d (first %d)", len(res.Attempts), res.Attempts[0].Seq)
	}
	var failed []int64
	for _, a := range res.Attempts {
		if !a.OK {
			failed = append(failed, a.Seq)
			if a.Status != 503 || a.Err != "injected" {
				t.Fatalf("failed attempt %+v", a)
			}
		}
	}
	if want := seqs(20, 29); !reflect.DeepEqual(failed, want) {
		t.Fatalf("failed seqs %v, want %v", failed, want)
	}
	s := res.Summarize()
	if s.Acked != 50 || s.Failed != 10 || len(s.Outages) != 1 {
		t.Fatalf("summary %+v", s)
	}
	if o := s.Outages[0]; o.FirstSeq != 20 || o.LastSeq != 29 || o.Failures != 10 || o.Open || !o.End.After(o.Start) {
		t.Fatalf("outage %+v", o)
	}
	v, err := load.Verify(ctx, nil, res)
	if err != nil {
		t.Fatal(err)
	}
	if want := seqs(40, 44); !reflect.DeepEqual(v.Lost, want) || v.Present != 45 || v.Acked != 50 || v.Unacknowledged != 0 {
		t.Fatalf("verification %+v, want lost %v and 45 present", v, want)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(demo.NewHandler("east", demo.NewMemStore(), nil))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := load.Run(ctx, load.Config{URL: srv.URL, Duration: time.Hour, Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	// At most the first slot may race with the cancellation.
	if len(res.Attempts) > 1 {
		t.Fatalf("%d attempts after cancel", len(res.Attempts))
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if _, err := load.Run(context.Background(), load.Config{URL: "nope", Duration: time.Second}); err == nil {
		t.Fatal("want an error")
	}
}

func seqs(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
