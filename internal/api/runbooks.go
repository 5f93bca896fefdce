package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"hadron.dev/hadron/internal/runbook"
)

// RunRequest is POST /v1/runbooks: start a switchover or failover of App to To.
type RunRequest struct {
	App  string       `json:"app"`
	Kind runbook.Kind `json:"kind"`
	To   string       `json:"to"`
	// Who is set by the server to the name of the request's API token (what the ledger
	// records as the decider); whatever a client sends is ignored.
	Who string `json:"who"`
	// Force starts a failover although the quorum does not find the active site down.
	Force bool `json:"force,omitempty"`
}

// RunDecision is the body of POST /v1/runbooks/APP/ID/resume and .../abort: a
// person's answer to a failed run.
type RunDecision struct {
	// Who is set by the server to the name of the request's API token (recorded next
	// to the run's decider); whatever a client sends is ignored.
	Who string `json:"who"`
	// Reason says why a run is aborted (recorded in the ledger).
	Reason string `json:"reason,omitempty"`
	// Force resumes a run stopped at the automatic loss bound (accepting the loss), or
	// aborts a run that is marked running but that no daemon executes.
	Force bool `json:"force,omitempty"`
}

// Errors a runbook handler returns, answered as 409 Conflict or 400 Bad Request.
var (
	// ErrNotLeader is returned by a daemon that does not lead: ask the leader.
	ErrNotLeader = errors.New("this daemon is not the leader")
	// ErrRefused is a request the daemon will not carry out as asked (wrapped with why).
	ErrRefused = errors.New("refused")
)

// RunbookHandlers serve the runbook routes; nil leaves them out.
type RunbookHandlers struct {
	Start   func(ctx context.Context, req RunRequest) (*runbook.Record, error)
	Get     func(ctx context.Context, app, id string) (*runbook.Record, error)
	History func(ctx context.Context, app string) ([]runbook.Record, error)
	// Resume sets a failed run going again and Abort closes it into the ledger; nil
	// leaves the route out.
	Resume func(ctx context.Context, app, id string, d RunDecision) (*runbook.Record, error)
	Abort  func(ctx context.Context, app, id string, d RunDecision) (*runbook.Record, error)
	// Preview says what a run would do with the state observed now, starting nothing
	// (--dry-run); nil leaves the route out.
	Preview func(ctx context.Context, req RunRequest) (*runbook.Preview, error)
	// Record puts into the ledger an action a person took on a mirror set outside the
	// daemons (runbook.RecordOutside) and returns the records stored, one per
	// application of the set; nil leaves the route out.
	Record func(ctx context.Context, r runbook.Record) ([]runbook.Record, error)
}

func registerRunbooks(rt *router, h *RunbookHandlers) {
	if h == nil {
		return
	}
	rt.handle("POST /v1/runbooks", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req RunRequest
		if !decodeBody(w, r, &req) {
			return
		}
		req.Who = callerName(r) // the ledger records the token, never what the body claims
		rec, err := h.Start(r.Context(), req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, rec)
	}))
	registerPreview(rt, h) // preview.go
	rt.handle("GET /v1/runbooks/{app}/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := h.Get(r.Context(), r.PathValue("app"), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, rec)
	}))
	for verb, fn := range map[string]func(context.Context, string, string, RunDecision) (*runbook.Record, error){
		"resume": h.Resume, "abort": h.Abort,
	} {
		if fn == nil {
			continue
		}
		rt.handle("POST /v1/runbooks/{app}/{id}/"+verb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var d RunDecision
			if !decodeBody(w, r, &d) {
				return
			}
			d.Who = callerName(r)
			rec, err := fn(r.Context(), r.PathValue("app"), r.PathValue("id"), d)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, rec)
		}))
	}
	if h.Record != nil {
		rt.handle("POST /v1/ledger", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rec runbook.Record
			if !decodeBody(w, r, &rec) {
				return
			}
			rec.Who = callerName(r)
			recs, err := h.Record(r.Context(), rec)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, recs)
		}))
	}
	rt.handle("GET /v1/history", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recs, err := h.History(r.Context(), r.URL.Query().Get("app"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, recs)
	}))
}

func writeError(w http.ResponseWriter, err error) {
	if nl := (*NotLeaderError)(nil); errors.As(err, &nl) {
		w.Header().Set(headerNotLeader, "true")
		if nl.Leader != "" {
			w.Header().Set(headerLeader, nl.Leader)
		}
	}
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotLeader), errors.Is(err, runbook.ErrRunOpen), errors.Is(err, runbook.ErrRunChanged),
		errors.Is(err, runbook.ErrRecorded):
		code = http.StatusConflict
	case errors.Is(err, ErrRefused), errors.Is(err, runbook.ErrUnknownKind), errors.Is(err, runbook.ErrNotOutside),
		errors.Is(err, runbook.ErrNotFailed), errors.Is(err, runbook.ErrRunClosed), errors.Is(err, runbook.ErrForceNeeded):
		code = http.StatusBadRequest
	case errors.Is(err, runbook.ErrNoRun):
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

// StartRun calls POST /v1/runbooks.
func (c *Client) StartRun(ctx context.Context, req RunRequest) (*runbook.Record, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var rec runbook.Record
	if err := c.do(ctx, http.MethodPost, "/v1/runbooks", bytes.NewReader(b), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Run calls GET /v1/runbooks/APP/ID: the run, open or in the ledger.
func (c *Client) Run(ctx context.Context, app, id string) (*runbook.Record, error) {
	var rec runbook.Record
	if err := c.get(ctx, "/v1/runbooks/"+url.PathEscape(app)+"/"+url.PathEscape(id), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// ResumeRun calls POST /v1/runbooks/APP/ID/resume: the leader sets the failed run
// going again and answers the record as resumed.
func (c *Client) ResumeRun(ctx context.Context, app, id string, d RunDecision) (*runbook.Record, error) {
	return c.decide(ctx, app, id, "resume", d)
}

// AbortRun calls POST /v1/runbooks/APP/ID/abort: the leader closes the failed run
// into the ledger as aborted and answers the closed record.
func (c *Client) AbortRun(ctx context.Context, app, id string, d RunDecision) (*runbook.Record, error) {
	return c.decide(ctx, app, id, "abort", d)
}

func (c *Client) decide(ctx context.Context, app, id, verb string, d RunDecision) (*runbook.Record, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var rec runbook.Record
	path := "/v1/runbooks/" + url.PathEscape(app) + "/" + url.PathEscape(id) + "/" + verb
	if err := c.do(ctx, http.MethodPost, path, bytes.NewReader(b), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// RecordOutside calls POST /v1/ledger: the daemon puts rec, an action a person took
// outside the daemons, into the ledger and answers the records stored.
func (c *Client) RecordOutside(ctx context.Context, rec *runbook.Record) ([]runbook.Record, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var recs []runbook.Record
	if err := c.do(ctx, http.MethodPost, "/v1/ledger", bytes.NewReader(b), &recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// History calls GET /v1/history ("" app: every application).
func (c *Client) History(ctx context.Context, app string) ([]runbook.Record, error) {
	var recs []runbook.Record
	path := "/v1/history"
	if app != "" {
		path += "?app=" + url.QueryEscape(app)
	}
	if err := c.get(ctx, path, &recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// StatusError is a daemon's answer other than 200 and 401.
type StatusError struct {
	Code int
	Msg  string
	// notLeader and leader are a not-the-leader refusal's headers (NotLeader).
	notLeader bool
	leader    string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Msg) }

// Is makes a daemon's not-the-leader refusal ErrNotLeader on the client's side too.
func (e *StatusError) Is(target error) bool {
	if target != ErrNotLeader {
		return false
	}
	_, ok := NotLeader(e)
	return ok
}
