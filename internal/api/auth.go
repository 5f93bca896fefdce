package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"hadron.dev/hadron/internal/apitoken"
)

// routeRoles is the role each route needs, in one table so that every power of every
// token can be read at once (docs/cli.md and the README's Security section say the
// same). An empty role is an open route. The probes' entries are read when
// ServerConfig.ProbesNeedToken is set.
var routeRoles = map[string]apitoken.Role{
	"GET /healthz":                        "",
	"GET /metrics":                        "",
	"GET /v1/status":                      apitoken.Read,
	"GET /v1/history":                     apitoken.Read,
	"GET /v1/runbooks/{app}/{id}":         apitoken.Read,
	"POST /v1/runbooks/preview":           apitoken.Read, // starts nothing
	"POST /v1/runbooks":                   apitoken.Operate,
	"POST /v1/runbooks/{app}/{id}/resume": apitoken.Operate,
	"POST /v1/runbooks/{app}/{id}/abort":  apitoken.Operate,
	"POST /v1/ledger":                     apitoken.Operate,
	"GET /v1/tokens":                      apitoken.Admin,
	"POST /v1/tokens":                     apitoken.Admin,
	"DELETE /v1/tokens/{name}":            apitoken.Admin,
	// Go's profiles of the daemon (heap, goroutines, CPU): admin, since a heap
	// profile may hold a secret the daemon read.
	"GET /debug/pprof/{profile}": apitoken.Admin,
	// The dashboard (ui.go): the login, its style and script are open; every page
	// and document with the fleet's state needs read. Its Resume and Abort buttons
	// call the runbook routes above, which need operate.
	"GET /ui":                 "",
	"GET /ui/login":           "",
	"POST /ui/login":          "",
	"POST /ui/logout":         "",
	"GET /ui/assets/{name}":   "",
	"GET /ui/{$}":             apitoken.Read,
	"GET /ui/view":            apitoken.Read,
	"GET /ui/events":          apitoken.Read,
	"GET /ui/runs/{app}/{id}": apitoken.Read,
	// The dashboard's Resume and Abort: carried out here when this daemon leads, else
	// forwarded with the caller's token to the leader, whose own table checks it again.
	"POST /ui/runs/{app}/{id}/{verb}": apitoken.Operate,
}

// RouteRoles returns a copy of the role each route needs ("" for open).
func RouteRoles() map[string]apitoken.Role {
	out := make(map[string]apitoken.Role, len(routeRoles))
	for k, v := range routeRoles {
		out[k] = v
	}
	return out
}

// router registers routes behind the check of the role each needs.
type router struct {
	mux             *http.ServeMux
	verifier        Verifier
	probesNeedToken bool
}

// handle serves pattern with next behind its role. A pattern missing from routeRoles
// is a programming error: no route is served without a decision on who may call it.
func (rt *router) handle(pattern string, next http.Handler) {
	need, ok := routeRoles[pattern]
	if !ok {
		panic("api: route " + pattern + " has no role in routeRoles")
	}
	if need == "" && rt.probesNeedToken && !strings.HasPrefix(pattern, "GET /ui") && !strings.HasPrefix(pattern, "POST /ui") {
		need = apitoken.Read
	}
	if need == "" {
		rt.mux.Handle(pattern, next)
		return
	}
	rt.mux.Handle(pattern, rt.authorize(need, next))
}

type callerKey struct{}

// Caller is the identity of the token that authorised the request of ctx; false on an
// open route.
func Caller(ctx context.Context) (apitoken.Identity, bool) {
	id, ok := ctx.Value(callerKey{}).(apitoken.Identity)
	return id, ok
}

// callerName is the name the ledger records for the request's caller.
func callerName(r *http.Request) string {
	id, _ := Caller(r.Context())
	return id.Name
}

// authorize lets through requests whose bearer token holds a role that grants need:
// 401 without a known token, 403 naming the role needed and the roles held.
func (rt *router) authorize(need apitoken.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, fromCookie, ok := secretOf(r)
		id, err := rt.verifier.Verify(secret)
		switch {
		case (!ok || errors.Is(err, apitoken.ErrUnknown)) && wantsPage(r):
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		case !ok || errors.Is(err, apitoken.ErrUnknown):
			w.Header().Set("WWW-Authenticate", `Bearer realm="hadron"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		case errors.Is(err, apitoken.ErrNotLoaded):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "unavailable: "+err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if fromCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(UIHeader) == "" {
			http.Error(w, "forbidden: a request authorised by the dashboard's cookie needs the header "+UIHeader, http.StatusForbidden)
			return
		}
		if !apitoken.Grants(id.Roles, need) {
			http.Error(w, Forbidden(r.Method+" "+r.URL.Path, need, id), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, id)))
	})
}

// Forbidden is the message of a 403: the request, the role it needs, the token's
// name and roles.
func Forbidden(request string, need apitoken.Role, id apitoken.Identity) string {
	return fmt.Sprintf("forbidden: %s needs role %s; token %q has %s", request, need, id.Name, apitoken.JoinRoles(id.Roles))
}
