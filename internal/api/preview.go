package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"hadron.dev/hadron/internal/runbook"
)

// registerPreview serves POST /v1/runbooks/preview: the body of a run's start
// (RunRequest), answered with what each step would do now; nothing starts.
func registerPreview(rt *router, h *RunbookHandlers) {
	if h.Preview == nil {
		return
	}
	rt.handle("POST /v1/runbooks/preview", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req RunRequest
		if !decodeBody(w, r, &req) {
			return
		}
		req.Who = callerName(r)
		p, err := h.Preview(r.Context(), req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, p)
	}))
}

// PreviewRun calls POST /v1/runbooks/preview: what the run req would do with the
// state the daemon observes now (--dry-run).
func (c *Client) PreviewRun(ctx context.Context, req RunRequest) (*runbook.Preview, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var p runbook.Preview
	if err := c.do(ctx, http.MethodPost, "/v1/runbooks/preview", bytes.NewReader(b), &p); err != nil {
		return nil, err
	}
	return &p, nil
}
