package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"hadron.dev/hadron/internal/apitoken"
)

// The dashboard (internal/dashboard) is served by the API under /ui behind the same
// tokens and role table as every other route. A browser cannot send a bearer header
// from a link, so the login form trades the token for a cookie: HttpOnly (no script
// reads it), Secure (only over the API's TLS), SameSite=Strict (no other site's page
// makes the browser send it). A request that the cookie authorises and that changes
// something must also carry the header Hadron-UI, which a page of another origin
// cannot add without the API's consent (CORS preflight, never granted): the second
// wall against cross-site requests.

// CookieName is the dashboard's cookie, holding the token's secret.
const CookieName = "hadron-token"

// UIHeader marks a request made by the dashboard's own script.
const UIHeader = "Hadron-UI"

// cookieLife is how long a browser keeps the login; the token's own revocation ends
// it earlier.
const cookieLife = 12 * time.Hour

// secretOf is the request's token secret: the bearer header, else the dashboard's
// cookie; fromCookie says which.
func secretOf(r *http.Request) (secret string, fromCookie, ok bool) {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		s, ok := strings.CutPrefix(h, "Bearer ")
		return strings.TrimSpace(s), false, ok
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value, true, true
	}
	return "", false, false
}

// Secret is the token secret r was authorised with (header or cookie), for a handler
// that forwards the caller's own request to the leader: the leader then checks the
// same token, and the ledger names the same caller. It is never logged.
func Secret(r *http.Request) string {
	s, _, _ := secretOf(r)
	return s
}

// wantsPage says whether an unauthorised request is a browser's for a page, which
// gets the login instead of a bare 401.
func wantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ui") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// registerLogin serves the login form's POST and the logout.
func registerLogin(rt *router) {
	rt.handle("POST /ui/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		secret := strings.TrimSpace(r.PostForm.Get("token"))
		id, err := rt.verifier.Verify(secret)
		switch {
		case errors.Is(err, apitoken.ErrNotLoaded):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "unavailable: "+err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil || !apitoken.Grants(id.Roles, apitoken.Read):
			// The same answer for an unknown token and one without read: a guesser
			// learns nothing.
			http.Redirect(w, r, "/ui/login?denied", http.StatusSeeOther)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: "/", MaxAge: int(cookieLife.Seconds()),
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	}))
	rt.handle("POST /ui/logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	}))
}
