package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/runreport"
)

//go:embed web
var webFS embed.FS

// Source is where the dashboard reads what it shows: the daemon's own status and
// runs, and a signal of changes to the shared state.
type Source struct {
	Status func(ctx context.Context) api.Status
	// Open returns the open runs; History the ledger, oldest first; Run one run.
	Open    func(ctx context.Context) ([]runbook.Record, error)
	History func(ctx context.Context) ([]runbook.Record, error)
	Run     func(ctx context.Context, app, id string) (*runbook.Record, error)
	// Changes signals, until ctx ends, that the shared state may have changed (an etcd
	// watch); nil leaves only the Refresh tick.
	Changes func(ctx context.Context) <-chan struct{}
	// Decide resumes or aborts (verb) a run as the caller whose token secret is given,
	// at the leader wherever it is.
	Decide   func(ctx context.Context, verb, app, id, secret string, d api.RunDecision) (*runbook.Record, error)
	Topology Topology
}

// Server serves the dashboard's routes.
type Server struct {
	src Source
	log *slog.Logger
	// Refresh is how often an open page gets a new view without a change in etcd:
	// what is not in etcd (this daemon's quorum, a running step's length) still moves.
	Refresh time.Duration
	// MinGap spaces the views a page gets, however fast etcd changes.
	MinGap time.Duration
	// Keepalive is how long a quiet stream waits before a comment keeps it open.
	Keepalive time.Duration
	now       func() time.Time
}

// New returns the dashboard of src.
func New(src Source, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{src: src, log: log, Refresh: 2 * time.Second, MinGap: 300 * time.Millisecond,
		Keepalive: 15 * time.Second, now: time.Now}
}

// Routes are the dashboard's routes by pattern; the API serves each behind the role
// its table gives the pattern (internal/api/auth.go).
func (s *Server) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /ui":                         http.RedirectHandler("/ui/", http.StatusMovedPermanently),
		"GET /ui/{$}":                     s.page("web/index.html"),
		"GET /ui/login":                   s.page("web/login.html"),
		"GET /ui/assets/{name}":           http.HandlerFunc(s.asset),
		"GET /ui/view":                    http.HandlerFunc(s.viewJSON),
		"GET /ui/events":                  http.HandlerFunc(s.events),
		"GET /ui/runs/{app}/{id}":         http.HandlerFunc(s.runPage),
		"POST /ui/runs/{app}/{id}/{verb}": http.HandlerFunc(s.decide),
	}
}

// pageCSP lets the dashboard's pages run their own script and style and nothing else:
// no inline script, no other origin, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// reportCSP is a run report's: it is self-contained (inline style, no script at all).
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) page(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, err := webFS.ReadFile(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		secureHeaders(w, pageCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	})
}

var assetTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

// asset serves the page's script and style. They hold no data of the fleet, so they
// are served without a token, as the login page needs its style.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	typ, ok := assetTypes[path.Ext(name)]
	b, err := fs.ReadFile(webFS, "web/"+name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	secureHeaders(w, pageCSP)
	w.Header().Set("Content-Type", typ)
	w.Write(b)
}

// View builds the document the page draws, as the request's caller sees it.
func (s *Server) View(ctx context.Context) View {
	in := Input{Topology: s.src.Topology}
	in.Caller, _ = api.Caller(ctx)
	// The three reads go to etcd, which from a daemon far from raft's leader costs a
	// cross-region round trip each: they are made together, so that an open page
	// follows a run's steps as closely as the status alone allows. Runs and the ledger
	// failing to read leaves them out; without a quorum the page still shows what the
	// daemon sees, and says so through the etcd view.
	var wg sync.WaitGroup
	if s.src.Open != nil {
		wg.Go(func() {
			if open, err := s.src.Open(ctx); err == nil {
				in.Open = open
			} else {
				s.log.Debug("dashboard: open runs", "err", err)
			}
		})
	}
	if s.src.History != nil {
		wg.Go(func() {
			if h, err := s.src.History(ctx); err == nil {
				in.History = h
			} else {
				s.log.Debug("dashboard: history", "err", err)
			}
		})
	}
	in.Status = s.src.Status(ctx)
	wg.Wait()
	in.Now = s.now()
	return Build(in)
}

func (s *Server) viewJSON(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w, pageCSP)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.View(r.Context()))
}

// events streams a view whenever the shared state changes (and every Refresh), each
// as one server-sent event "view"; one stream per open page, however many there are,
// costs one etcd watch each and no request from the browser.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The API's write timeout bounds ordinary answers; a stream lives as long as its page.
	// So does the read timeout, which would otherwise end the request's context.
	if err := errors.Join(rc.SetWriteDeadline(time.Time{}), rc.SetReadDeadline(time.Time{})); err != nil {
		http.Error(w, "streaming not supported", http.StatusInternalServerError)
		return
	}
	secureHeaders(w, pageCSP)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	var changes <-chan struct{}
	if s.src.Changes != nil {
		changes = s.src.Changes(ctx)
	}
	tick := time.NewTicker(s.Refresh)
	defer tick.Stop()
	var last []byte
	lastSent := time.Time{}
	send := func() error {
		v := s.View(ctx)
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		// Only the time differs? The page has it already.
		v.Time = time.Time{}
		same, _ := json.Marshal(v)
		if bytes.Equal(same, last) && time.Since(lastSent) < s.Keepalive {
			return nil
		}
		last, lastSent = same, time.Now()
		if _, err := fmt.Fprintf(w, "event: view\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	for {
		began := time.Now()
		if err := send(); err != nil {
			if !errors.Is(ctx.Err(), context.Canceled) {
				s.log.Debug("dashboard: stream ended", "err", err)
			}
			return
		}
		// Wait for the next reason to send, then until MinGap has passed since this
		// one began: building the view counts towards the gap (from a daemon far from
		// etcd's leader it takes a good part of it), so that a page follows a run's
		// steps as fast as the gap allows and no faster.
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil
			}
		case <-tick.C:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.MinGap - time.Since(began)):
		}
	}
}

// runPage is one run's report (the ledger's rows link it).
func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	rec, err := s.src.Run(r.Context(), r.PathValue("app"), r.PathValue("id"))
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, runbook.ErrNoRun) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	var b bytes.Buffer
	if err := runreport.Write(&b, runreport.Run(rec, s.now())); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	secureHeaders(w, reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// decide is the page's Resume or Abort: any daemon's page can press them; the daemon
// carries them out when it leads and forwards them to the leader otherwise.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	verb := r.PathValue("verb")
	if verb != "resume" && verb != "abort" {
		http.NotFound(w, r)
		return
	}
	var d api.RunDecision
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&d); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, _ := api.Caller(r.Context())
	d.Who = id.Name
	rec, err := s.src.Decide(r.Context(), verb, r.PathValue("app"), r.PathValue("id"), api.Secret(r), d)
	if err != nil {
		code := http.StatusConflict
		var se *api.StatusError
		switch {
		case errors.As(err, &se):
			code = se.Code
		case errors.Is(err, runbook.ErrNoRun):
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rec)
}
