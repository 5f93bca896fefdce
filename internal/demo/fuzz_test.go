package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzHandler sends arbitrary paths and queries: every answer is one of the API's
// statuses with a JSON body (the text index page aside), never a panic or a 500.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(1), "/write", "client=a&seq=1")
	f.Add(uint8(0), "/read", "client=a&list=1")
	f.Add(uint8(0), "/stats", "")
	f.Add(uint8(1), "/write", "client=%ff&seq=-1")
	f.Add(uint8(2), "/healthz", "x=;")
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead}
	h := NewHandler("east", NewMemStore(), nil)
	f.Fuzz(func(t *testing.T, m uint8, path, query string) {
		u := &url.URL{Path: "/" + path, RawQuery: query}
		req := httptest.NewRequest(methods[int(m)%len(methods)], "http://demo/", nil)
		req.URL = u
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405, 409, 503:
		default:
			t.Fatalf("%s %s: status %d", req.Method, u, rec.Code)
		}
		if u.Path != "/" && req.Method != http.MethodHead && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: body is not JSON: %q", req.Method, u, rec.Body)
		}
	})
}
