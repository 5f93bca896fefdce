package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/runbook"
)

// serve runs the API with h on loopback until the test ends and returns a client with
// the token "secret" (named bob, role operate).
func serve(t *testing.T, h *api.RunbookHandlers) *api.Client {
	t.Helper()
	srv, err := api.Listen(api.ServerConfig{Addr: "127.0.0.1:0", Verifier: people},
		api.Handlers{Status: func(context.Context) api.Status { return api.Status{} }, Runbooks: h})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &api.Client{Addr: srv.Addr(), Token: "secret"}
}

// people are the tokens of these tests: secret → identity.
var people = verifier{
	"secret":       {Name: "bob", Roles: []apitoken.Role{apitoken.Operate}},
	"carol-secret": {Name: "carol", Roles: []apitoken.Role{apitoken.Operate}},
}

// verifier is a fixed set of tokens; the etcd-backed apitoken.Verifier is tested in
// its package and through the daemon.
type verifier map[string]apitoken.Identity

func (v verifier) Verify(secret string) (apitoken.Identity, error) {
	if id, ok := v[secret]; ok {
		return id, nil
	}
	return apitoken.Identity{}, apitoken.ErrUnknown
}

func code(err error) int {
	var se *api.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// The resume and abort routes decide on runs stored in a real etcd: a failed run is
// resumed, a running one refused (400), an unknown one not found (404), a closed one
// refused; a daemon without the handlers does not serve the routes.
func TestResumeAndAbortRoutes(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(246))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := members[0].Client
	el := coord.NewElector(c, "east", 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Resign(context.Background())
	cl := serve(t, &api.RunbookHandlers{
		Resume: func(ctx context.Context, app, id string, d api.RunDecision) (*runbook.Record, error) {
			return runbook.ResumeRun(ctx, c, tok, app, id, d.Who, d.Force, time.Now())
		},
		Abort: func(ctx context.Context, app, id string, d api.RunDecision) (*runbook.Record, error) {
			return runbook.AbortRun(ctx, c, tok, app, id, d.Who, d.Reason, d.Force, time.Now())
		},
	})

	rec, err := runbook.Launch(ctx, c, tok, runbook.Switchover, "shop", "east", "west", "alice", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bob := api.RunDecision{Who: "mallory"} // the server records the token's name instead
	carolCl := &api.Client{Addr: cl.Addr, Token: "carol-secret"}
	if _, err := (&api.Client{Addr: cl.Addr, Token: "wrong"}).ResumeRun(ctx, "shop", rec.ID, bob); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := cl.ResumeRun(ctx, "shop", "20260101T000000.000Z-switchover", bob); code(err) != http.StatusNotFound {
		t.Fatalf("unknown run: %v, want 404", err)
	}
	if _, err := cl.ResumeRun(ctx, "shop", rec.ID, bob); code(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "is running, not failed") {
		t.Fatalf("resume of a running run: %v, want 400 running, not failed", err)
	}

	runbook.Begin(rec, 0, tok.Rev, time.Now())
	runbook.Fail(rec, 0, errors.New("west has no streaming member"))
	if err := runbook.Save(ctx, c, tok, rec); err != nil {
		t.Fatal(err)
	}
	got, err := cl.ResumeRun(ctx, "shop", rec.ID, bob)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runbook.StatusRunning || len(got.Resumes) != 1 || got.Resumes[0].Who != "bob" || got.Who != "alice" {
		t.Fatalf("resumed: %+v", got)
	}

	// Nothing executes it here, so it stays marked running: only a forced abort closes it.
	if _, err := carolCl.AbortRun(ctx, "shop", rec.ID, api.RunDecision{}); code(err) != http.StatusBadRequest {
		t.Fatalf("abort of a running run: %v, want 400", err)
	}
	closed, err := carolCl.AbortRun(ctx, "shop", rec.ID, api.RunDecision{Reason: "test", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != runbook.StatusAborted || closed.Aborted == nil || closed.Aborted.Reason != "test" || closed.Aborted.Who != "carol" {
		t.Fatalf("aborted: %+v", closed)
	}
	if _, err := cl.AbortRun(ctx, "shop", rec.ID, api.RunDecision{Who: "carol", Force: true}); code(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("abort of a closed run: %v, want 400 closed", err)
	}

	// A body that is not a decision is refused before any handler runs.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+cl.Addr+"/v1/runbooks/shop/"+rec.ID+"/resume", strings.NewReader("{"))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad body: HTTP %d, want 400", resp.StatusCode)
	}

	bare := serve(t, &api.RunbookHandlers{})
	if _, err := bare.AbortRun(ctx, "shop", rec.ID, bob); code(err) != http.StatusNotFound {
		t.Fatalf("abort without a handler: %v, want 404", err)
	}
}
