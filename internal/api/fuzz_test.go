package api_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
)

// FuzzRequest sends the API any method, path, Authorization header and body: it must
// never panic, never answer 2xx to a route that needs a role the caller's token does
// not hold (or without a token), and never hand a handler a caller other than the
// token's.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/v1/runbooks", "Bearer ops-secret", `{"app":"shop","kind":"switchover","to":"west","who":"mallory"}`)
	f.Add("POST", "/v1/runbooks", "Bearer viewer-secret", `{"app":"shop"}`)
	f.Add("GET", "/v1/status", "Bearer viewer-secret", "")
	f.Add("DELETE", "/v1/tokens/viewer", "Bearer admin-secret", "")
	f.Add("POST", "/v1/tokens", "Bearer bootstrap-secret", `{"name":"x","roles":["read","admin"]}`)
	f.Add("POST", "/v1/ledger", "bearer ops-secret", `{"who":"x"`)
	f.Add("GET", "/metrics", "", "")
	f.Add("POST", "/v1/runbooks/shop/r1/abort", "Bearer  ops-secret ", `{"force":true}`)
	seen := &whoSeen{}
	srv, err := api.Listen(api.ServerConfig{Addr: "127.0.0.1:0", Verifier: staff}, allHandlers(seen))
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Serve(ctx) // only to close the listener at the end; requests go to the handler
	f.Cleanup(cancel)
	h := api.ExportHandler(srv)
	roles := api.RouteRoles()
	f.Fuzz(func(t *testing.T, method, path, auth, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t?#") || strings.ContainsAny(method, " \r\n\t/") || method == "" {
			return // not a request line a client can send
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method, req.URL.Path, req.RequestURI = method, path, path
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		seen.set("")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		io.Copy(io.Discard, w.Body)
		if w.Code >= 300 {
			return
		}
		// A 2xx: the pattern served must be open, or the token must hold its role.
		_, pattern := api.ExportMux(srv).Handler(req)
		need, ok := roles[pattern]
		if !ok {
			t.Fatalf("%s %s answered %d by a route %q outside the role table", method, path, w.Code, pattern)
		}
		if need == "" {
			return
		}
		secret, _ := strings.CutPrefix(strings.TrimSpace(auth), "Bearer ")
		id, err := staff.Verify(strings.TrimSpace(secret))
		if err != nil || !apitoken.Grants(id.Roles, need) {
			t.Fatalf("%s %s with %q answered %d; the route needs %s", method, path, auth, w.Code, need)
		}
		if who := seen.get(); who != "" && who != id.Name {
			t.Fatalf("%s %s: the handler was told the caller is %q, the token is %q", method, path, who, id.Name)
		}
	})
}
