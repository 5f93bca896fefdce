package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"hadron.dev/hadron/internal/apitoken"
)

// TokenRequest is POST /v1/tokens: create a token Name holding Roles.
type TokenRequest struct {
	Name  string          `json:"name"`
	Roles []apitoken.Role `json:"roles"`
}

// CreatedToken is the answer of POST /v1/tokens: the token and its secret, which no
// daemon keeps and no later call shows again.
type CreatedToken struct {
	Token  apitoken.Token `json:"token"`
	Secret string         `json:"secret"`
}

// TokenHandlers serve the token routes (role admin); nil leaves them out. by is the
// name of the token that asks.
type TokenHandlers struct {
	Create func(ctx context.Context, req TokenRequest, by string) (apitoken.Token, string, error)
	List   func(ctx context.Context) ([]apitoken.Token, error)
	Revoke func(ctx context.Context, name, by string) error
}

func registerTokens(rt *router, h *TokenHandlers) {
	if h == nil {
		return
	}
	rt.handle("POST /v1/tokens", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		if !decodeBody(w, r, &req) {
			return
		}
		t, secret, err := h.Create(r.Context(), req, callerName(r))
		if err != nil {
			writeTokenError(w, err)
			return
		}
		t.SHA256 = ""
		writeJSON(w, CreatedToken{Token: t, Secret: secret})
	}))
	rt.handle("GET /v1/tokens", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := h.List(r.Context())
		if err != nil {
			writeTokenError(w, err)
			return
		}
		if ts == nil {
			ts = []apitoken.Token{}
		}
		writeJSON(w, ts)
	}))
	rt.handle("DELETE /v1/tokens/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Revoke(r.Context(), r.PathValue("name"), callerName(r)); err != nil {
			writeTokenError(w, err)
			return
		}
		writeJSON(w, struct {
			Revoked string `json:"revoked"`
		}{r.PathValue("name")})
	}))
}

func writeTokenError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, apitoken.ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, apitoken.ErrExists):
		code = http.StatusConflict
	case errors.Is(err, apitoken.ErrNoToken):
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

// CreateToken calls POST /v1/tokens.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (*CreatedToken, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out CreatedToken
	if err := c.do(ctx, http.MethodPost, "/v1/tokens", bytes.NewReader(b), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tokens calls GET /v1/tokens.
func (c *Client) Tokens(ctx context.Context) ([]apitoken.Token, error) {
	var out []apitoken.Token
	err := c.get(ctx, "/v1/tokens", &out)
	return out, err
}

// RevokeToken calls DELETE /v1/tokens/NAME.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	var out struct{}
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(name), nil, &out)
}
