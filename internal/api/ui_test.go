package api_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
)

// The dashboard's login trades a token for a cookie that scripts cannot read, that
// only travels over TLS and never with another site's request; the cookie then
// authorises like the bearer header, roles and all, and a change it authorises needs
// the dashboard's header too.
func TestDashboardCookie(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	addr := start(t, api.ServerConfig{Addr: "127.0.0.1:0", TLS: srvTLS, Verifier: staff}, allHandlers(&whoSeen{}))
	base := "https://" + addr
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(hc *http.Client, path, accept string) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	login := func(hc *http.Client, secret string) *http.Response {
		resp, err := hc.PostForm(base+"/ui/login", url.Values{"token": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	anon := browser()
	if r := get(anon, "/ui/", "text/html"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Errorf("page without a token: HTTP %d to %q, want 303 to the login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get(anon, "/ui/view", "application/json"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("view without a token: HTTP %d, want 401", r.StatusCode)
	}
	if r := login(anon, "forged"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login?denied" || len(r.Cookies()) != 0 {
		t.Errorf("login with an unknown token: HTTP %d to %q, cookies %v", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}

	viewer := browser()
	r := login(viewer, "viewer-secret")
	if r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 1 {
		t.Fatalf("login: HTTP %d, cookies %v", r.StatusCode, r.Cookies())
	}
	c := r.Cookies()[0]
	if c.Name != api.CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", c)
	}
	if r := get(viewer, "/ui/", "text/html"); r.StatusCode != http.StatusOK {
		t.Errorf("page with a read cookie: HTTP %d", r.StatusCode)
	}
	post := func(hc *http.Client, path string, ui bool) (int, string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(`{"reason":"test"}`))
		if ui {
			req.Header.Set(api.UIHeader, "1")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, msg := post(viewer, "/v1/runbooks/shop/r1/abort", true); code != http.StatusForbidden || !strings.Contains(msg, "needs role operate") {
		t.Errorf("abort with a read cookie: HTTP %d %s, want 403 naming operate", code, msg)
	}
	ops := browser()
	login(ops, "ops-secret")
	if code, msg := post(ops, "/v1/runbooks/shop/r1/abort", false); code != http.StatusForbidden || !strings.Contains(msg, api.UIHeader) {
		t.Errorf("abort with an operate cookie but no dashboard header: HTTP %d %s, want 403", code, msg)
	}
	if code, msg := post(ops, "/v1/runbooks/shop/r1/abort", true); code != http.StatusOK {
		t.Errorf("abort from the dashboard with an operate cookie: HTTP %d %s", code, msg)
	}
	resp, err := ops.Post(base+"/ui/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := get(ops, "/ui/view", "application/json"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("view after logout: HTTP %d, want 401", r.StatusCode)
	}
}
