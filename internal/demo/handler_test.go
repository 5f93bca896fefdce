package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/demo/demoapi"
)

func do(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json (body %s)", ct, rec.Body)
	}
	var v T
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v", v, err)
	}
	return v
}

func TestWriteReadStats(t *testing.T) {
	h := NewHandler("east", NewMemStore(), nil)
	for i, seq := range []string{"1", "2", "3", "5", "2"} {
		rec := do(t, h, "POST", "/write?client=c1&seq="+seq)
		if rec.Code != http.StatusOK {
			t.Fatalf("write seq %s: %d %s", seq, rec.Code, rec.Body)
		}
		w := decode[demoapi.WriteResponse](t, rec)
		if w.Client != "c1" || w.Site != "east" || w.DB != memAddr || w.ID == 0 {
			t.Fatalf("write seq %s = %+v", seq, w)
		}
		if got := w.Duplicate; got != (i == 4) || (i == 4 && w.ID != 2) {
			t.Fatalf("write seq %s: duplicate = %v (%+v)", seq, got, w)
		}
	}
	do(t, h, "POST", "/write?client=c2&seq=9")

	rd := decode[demoapi.ReadResponse](t, do(t, h, "GET", "/read?client=c1&list=1"))
	want := demoapi.ReadResponse{Client: "c1", Count: 4, Max: 5, Ranges: []demoapi.Range{{1, 3}, {5, 5}},
		Seqs: []int64{1, 2, 3, 5}, Site: "east", DB: memAddr}
	if !equalJSON(t, rd, want) {
		t.Fatalf("read = %+v, want %+v", rd, want)
	}
	empty := decode[demoapi.ReadResponse](t, do(t, h, "GET", "/read?client=nobody"))
	if empty.Count != 0 || empty.Ranges == nil || len(empty.Ranges) != 0 {
		t.Fatalf("read of an unknown client = %+v, want count 0 and empty ranges", empty)
	}

	st := decode[demoapi.Stats](t, do(t, h, "GET", "/stats"))
	if st.Rows != 5 || st.MaxID != 5 || st.Site != "east" ||
		st.Clients["c1"] != (demoapi.ClientStats{Count: 4, MaxSeq: 5}) ||
		st.Clients["c2"] != (demoapi.ClientStats{Count: 1, MaxSeq: 9}) {
		t.Fatalf("stats = %+v", st)
	}

	idx := do(t, h, "GET", "/")
	if idx.Code != 200 || !strings.Contains(idx.Body.String(), "site: east") || !strings.Contains(idx.Body.String(), "rows: 5") {
		t.Fatalf("index = %d %q", idx.Code, idx.Body)
	}
}

func TestHealthz(t *testing.T) {
	store := NewMemStore()
	h := NewHandler("west", store, nil)
	rec := do(t, h, "GET", "/healthz")
	if rec.Code != 200 {
		t.Fatalf("healthz up = %d", rec.Code)
	}
	if got := decode[demoapi.Health](t, rec); got != (demoapi.Health{Status: "ok", Site: "west", DB: memAddr}) {
		t.Fatalf("healthz up = %+v", got)
	}
	store.SetReadOnly(true)
	rec = do(t, h, "GET", "/healthz")
	got := decode[demoapi.Health](t, rec)
	if rec.Code != 503 || got.Status != "unavailable" || got.Reason != ErrReadOnly.Error() {
		t.Fatalf("healthz read-only = %d %+v", rec.Code, got)
	}
	store.SetReadOnly(false)
	store.SetDown(ErrUnavailable)
	if rec := do(t, h, "GET", "/healthz"); rec.Code != 503 {
		t.Fatalf("healthz down = %d", rec.Code)
	}
	if rec := do(t, h, "POST", "/write?client=a&seq=1"); rec.Code != 503 ||
		decode[demoapi.Error](t, rec).Error != "write: "+ErrUnavailable.Error() {
		t.Fatalf("write while down = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", "/"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "unavailable") {
		t.Fatalf("index while down = %d %q", rec.Code, rec.Body)
	}
}

func TestBadRequests(t *testing.T) {
	h := NewHandler("east", NewMemStore(), nil)
	tests := []struct {
		method, target string
		code           int
		msg            string
	}{
		{"POST", "/write?seq=1", 400, "client is required"},
		{"POST", "/write?client=a&seq=0", 400, `seq "0": want an integer >= 1`},
		{"POST", "/write?client=a&seq=x", 400, `seq "x": want an integer >= 1`},
		{"POST", "/write?client=a", 400, "seq is required"},
		{"POST", "/write?client=a%20b&seq=1", 400, `client "a b": only letters, digits, '-', '_' and '.' are allowed`},
		{"POST", "/write?client=" + strings.Repeat("x", 65) + "&seq=1", 400, "client longer than 64 characters"},
		{"GET", "/write?client=a&seq=1", 405, "GET /write: use POST"},
		{"POST", "/read?client=a", 405, "POST /read: use GET"},
		{"GET", "/read", 400, "client is required"},
		{"GET", "/nope", 404, "no such endpoint: /nope"},
	}
	for _, tt := range tests {
		rec := do(t, h, tt.method, tt.target)
		if rec.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.target, rec.Code, tt.code)
			continue
		}
		if got := decode[demoapi.Error](t, rec).Error; got != tt.msg {
			t.Errorf("%s %s: error %q, want %q", tt.method, tt.target, got, tt.msg)
		}
	}
}

func TestConflictIs409(t *testing.T) {
	h := NewHandler("east", conflictStore{NewMemStore()}, nil)
	if rec := do(t, h, "POST", "/write?client=a&seq=1"); rec.Code != http.StatusConflict {
		t.Fatalf("conflict = %d", rec.Code)
	}
}

type conflictStore struct{ *MemStore }

func (conflictStore) Write(_ context.Context, _ string, _ int64, _ string) (int64, string, bool, error) {
	return 0, "", false, ErrConflict
}

func TestRequestLogHasNoQueryBeyondClientAndSeq(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := NewHandler("east", NewMemStore(), log)
	do(t, h, "POST", "/write?client=c&seq=1&password=hunter2")
	out := buf.String()
	if !strings.Contains(out, "client=c") || !strings.Contains(out, "seq=1") || !strings.Contains(out, "status=200") {
		t.Fatalf("log line lacks client, seq or status: %s", out)
	}
	if strings.Contains(out, "hunter2") {
		t.Fatalf("log line leaks a query parameter: %s", out)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
