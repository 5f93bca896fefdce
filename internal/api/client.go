package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrUnauthorized is returned when the daemon refuses the token.
var ErrUnauthorized = errors.New("the daemon refused the API token")

// Client calls one daemon's API.
type Client struct {
	// Addr is host:port of the daemon's API.
	Addr string
	// Site is the daemon's site: the name other daemons give when they send a client
	// to the leader (First).
	Site  string
	Token string
	TLS   *tls.Config
	// HTTP is the client used; nil builds one with TLS and a 5 s timeout.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.TLS, Proxy: nil}}
}

// Status calls GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.get(ctx, "/v1/status", &st)
	return st, err
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	scheme := "https"
	if c.TLS == nil {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+c.Addr+path, body)
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("daemon %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("daemon %s: %w", c.Addr, ErrUnauthorized)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		se := &StatusError{Code: resp.StatusCode, Msg: strings.TrimSpace(string(b))}
		if resp.Header.Get(headerNotLeader) != "" {
			se.notLeader, se.leader = true, resp.Header.Get(headerLeader)
		}
		return fmt.Errorf("daemon %s: %w", c.Addr, se)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("daemon %s: decode %s: %w", c.Addr, path, err)
	}
	return nil
}
