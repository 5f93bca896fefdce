package world

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"hadron.dev/hadron/lab/internal/nodes"
)

// LinkRequest changes a link.
type LinkRequest struct {
	Action  string        `json:"action"` // cut, heal, latency
	A       string        `json:"a"`
	B       string        `json:"b"`
	Latency time.Duration `json:"latency,omitempty"`
	// OneWay cuts only the direction A → B: A can no longer open connections to B,
	// while B still reaches A. Heal restores both directions.
	OneWay bool `json:"oneWay,omitempty"`
}

// FaultRequest injects or removes a fault.
type FaultRequest struct {
	Action string `json:"action"` // fail, restore
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Delay is how long a killed process stays down (kind process; default
	// DefaultRestartDelay).
	Delay time.Duration `json:"delay,omitempty"`
}

// DrainRequest drains a node.
type DrainRequest struct {
	Node string `json:"node"`
	// Timeout bounds how long evictions a disruption budget refuses are asked again.
	Timeout time.Duration `json:"timeout,omitempty"`
}

type apiError struct {
	Error string `json:"error"`
}

// Serve answers the lab's control API on the unix socket until ctx ends. shutdown is
// called when a client asks the lab to stop.
func (w *World) Serve(ctx context.Context, shutdown func()) error {
	sock := w.opts.Dir.Socket()
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("lab socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("lab socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(rw http.ResponseWriter, r *http.Request) {
		reply(rw, w.Status(r.Context()), nil)
	})
	mux.HandleFunc("POST /links", func(rw http.ResponseWriter, r *http.Request) {
		var req LinkRequest
		if err := decode(r, &req); err != nil {
			reply(rw, nil, err)
			return
		}
		reply(rw, nil, w.Link(req))
	})
	mux.HandleFunc("POST /faults", func(rw http.ResponseWriter, r *http.Request) {
		var req FaultRequest
		if err := decode(r, &req); err != nil {
			reply(rw, nil, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
		defer cancel()
		switch {
		case req.Action == "fail" && req.Kind == FaultProcess:
			err = w.KillProcess(ctx, req.Name, req.Delay)
		case req.Action == "fail":
			err = w.Fail(ctx, req.Kind, req.Name)
		case req.Action == "restore":
			err = w.Restore(ctx, req.Kind, req.Name)
		default:
			err = fmt.Errorf("action %q: want fail or restore", req.Action)
		}
		reply(rw, nil, err)
	})
	mux.HandleFunc("POST /drain", func(rw http.ResponseWriter, r *http.Request) {
		var req DrainRequest
		if err := decode(r, &req); err != nil {
			reply(rw, nil, err)
			return
		}
		if req.Timeout <= 0 {
			req.Timeout = 2 * time.Minute
		}
		ctx, cancel := context.WithTimeout(r.Context(), req.Timeout+30*time.Second)
		defer cancel()
		res, err := w.Drain(ctx, req.Node, req.Timeout)
		reply(rw, res, err)
	})
	mux.HandleFunc("POST /shutdown", func(rw http.ResponseWriter, r *http.Request) {
		reply(rw, nil, nil)
		go shutdown()
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Link applies a LinkRequest.
func (w *World) Link(req LinkRequest) error {
	if w.links == nil {
		return errors.New("links are not up yet")
	}
	switch req.Action {
	case "cut":
		if req.OneWay {
			err := w.links.CutOneWay(req.A, req.B)
			if err == nil {
				w.event("link %s→%s cut one way (%s still reaches %s)", req.A, req.B, req.B, req.A)
			}
			return err
		}
		err := w.links.Cut(req.A, req.B)
		if err == nil {
			w.event("link %s-%s cut", req.A, req.B)
		}
		return err
	case "heal":
		err := w.links.Heal(req.A, req.B)
		if err == nil {
			w.event("link %s-%s healed", req.A, req.B)
		}
		return err
	case "latency":
		err := w.links.SetLatency(req.A, req.B, req.Latency)
		if err == nil {
			w.event("link %s-%s latency %s", req.A, req.B, req.Latency)
		}
		return err
	}
	return fmt.Errorf("link action %q: want cut, heal or latency", req.Action)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func reply(rw http.ResponseWriter, v any, err error) {
	rw.Header().Set("Content-Type", "application/json")
	if err != nil {
		rw.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(rw).Encode(apiError{Error: err.Error()})
		return
	}
	if v == nil {
		v = struct{}{}
	}
	_ = json.NewEncoder(rw).Encode(v)
}

// ErrNotRunning says no lab answers in the directory.
var ErrNotRunning = errors.New("no lab is running")

// Client talks to a running lab's supervisor.
type Client struct {
	dir  Dir
	http *http.Client
}

// NewClient returns a client for the lab in dir.
func NewClient(dir Dir) *Client {
	return &Client{dir: dir, http: &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dir.Socket())
		}},
	}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://lab"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w in %s (start one with `hadron lab up`)", ErrNotRunning, c.dir)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		if json.NewDecoder(resp.Body).Decode(&ae) == nil && ae.Error != "" {
			return errors.New(ae.Error)
		}
		return fmt.Errorf("lab: %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Status returns the world's state.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/status", nil, &st)
	return st, err
}

// Link changes a link.
func (c *Client) Link(ctx context.Context, req LinkRequest) error {
	return c.do(ctx, http.MethodPost, "/links", req, nil)
}

// Fault injects or removes a fault.
func (c *Client) Fault(ctx context.Context, req FaultRequest) error {
	return c.do(ctx, http.MethodPost, "/faults", req, nil)
}

// Drain cordons a node and evicts its pods honouring disruption budgets.
func (c *Client) Drain(ctx context.Context, req DrainRequest) (nodes.DrainResult, error) {
	var res nodes.DrainResult
	err := c.do(ctx, http.MethodPost, "/drain", req, &res)
	return res, err
}

// Shutdown asks the supervisor to stop the world.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil, nil)
}
