package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// HealthTimeout bounds the database ping behind /healthz: a probe must not hang when
// the database is unreachable.
const HealthTimeout = 2 * time.Second

// maxClientLen bounds client ids, which are stored and echoed.
const maxClientLen = 64

// Handler serves the demo application's HTTP API for one site.
type Handler struct {
	site   string
	store  Store
	log    *slog.Logger
	routes map[string]route
}

type route struct {
	method string
	serve  http.HandlerFunc
}

// NewHandler returns the HTTP API of site backed by store.
func NewHandler(site string, store Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{site: site, store: store, log: log}
	h.routes = map[string]route{
		"/healthz": {http.MethodGet, h.healthz},
		"/write":   {http.MethodPost, h.write},
		"/read":    {http.MethodGet, h.read},
		"/stats":   {http.MethodGet, h.stats},
		"/":        {http.MethodGet, h.index},
	}
	return h
}

// ServeHTTP logs every request: method, path, query parameters of the API (client and
// seq, never credentials), status and duration. Health probes log at debug level.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.route(rec, r)
	level := slog.LevelInfo
	if r.URL.Path == "/healthz" && rec.status == http.StatusOK {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Duration("dur", time.Since(start)),
		slog.String("remote", r.RemoteAddr),
	}
	q := r.URL.Query()
	if c := q.Get("client"); c != "" && len(c) <= maxClientLen {
		attrs = append(attrs, slog.String("client", c))
	}
	if s := q.Get("seq"); s != "" && len(s) <= 20 {
		attrs = append(attrs, slog.String("seq", s))
	}
	h.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// route answers JSON errors for unknown paths and wrong methods (HEAD counts as GET).
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	rt, ok := h.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	if r.Method != rt.method && !(r.Method == http.MethodHead && rt.method == http.MethodGet) {
		w.Header().Set("Allow", rt.method)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, rt.method))
		return
	}
	rt.serve(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), HealthTimeout)
	defer cancel()
	db, err := h.store.Ping(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, demoapi.Health{Status: "unavailable", Site: h.site, Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, demoapi.Health{Status: "ok", Site: h.site, DB: db})
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client, err := parseClient(q.Get("client"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	seq, err := parseSeq(q.Get("seq"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, db, dup, err := h.store.Write(r.Context(), client, seq, h.site)
	if err != nil {
		h.storeError(w, r, "write", err)
		return
	}
	writeJSON(w, http.StatusOK, demoapi.WriteResponse{ID: id, Client: client, Seq: seq, Site: h.site, DB: db, Duplicate: dup})
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client, err := parseClient(q.Get("client"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ranges, db, err := h.store.Read(r.Context(), client)
	if err != nil {
		h.storeError(w, r, "read", err)
		return
	}
	resp := demoapi.ReadResponse{Client: client, Ranges: ranges, Site: h.site, DB: db}
	if resp.Ranges == nil {
		resp.Ranges = []demoapi.Range{}
	}
	for _, rg := range ranges {
		resp.Count += rg.Len()
		resp.Max = rg.To()
	}
	if q.Get("list") == "1" || q.Get("list") == "true" {
		// The store's ranges are well formed and hold Count seqs.
		resp.Seqs, _ = demoapi.Expand(ranges, resp.Count)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.Stats(r.Context())
	if err != nil {
		h.storeError(w, r, "stats", err)
		return
	}
	st.Site = h.site
	if st.Clients == nil {
		st.Clients = map[string]demoapi.ClientStats{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	st, err := h.store.Stats(r.Context())
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "hadron demo\nsite: %s\ndatabase: unavailable (%v)\n", h.site, err)
		return
	}
	mode := "read-write"
	if st.ReadOnly {
		mode = "read-only"
	}
	fmt.Fprintf(w, "hadron demo\nsite: %s\ndatabase: %s (%s)\nrows: %d\n", h.site, st.DB, mode, st.Rows)
}

// storeError answers 503 for database failures (the client may retry elsewhere) and
// 409 for a concurrent duplicate.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.Warn(op+" failed", "err", err, "path", r.URL.Path)
	status := http.StatusServiceUnavailable
	if errors.Is(err, ErrConflict) {
		status = http.StatusConflict
	}
	writeError(w, status, fmt.Sprintf("%s: %v", op, err))
}

func parseClient(s string) (string, error) {
	if s == "" {
		return "", errors.New("client is required")
	}
	if len(s) > maxClientLen {
		return "", fmt.Errorf("client longer than %d characters", maxClientLen)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return "", fmt.Errorf("client %q: only letters, digits, '-', '_' and '.' are allowed", s)
		}
	}
	return s, nil
}

func parseSeq(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("seq is required")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("seq %q: want an integer >= 1", s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, demoapi.Error{Error: msg})
}
