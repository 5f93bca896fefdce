package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/runbook"
)

// A person's answer to a failed run: resume it, or abort it into the ledger. Like a
// new run, only the leader acts, with its token.

// resumeRun sets app's failed run id going again at its failed step and executes it in
// the background, as startRun does for a new run.
func (r *runbooks) resume(ctx context.Context, app, id string, dec api.RunDecision) (*runbook.Record, error) {
	tok, lctx, err := r.leading(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := runbook.ResumeRun(ctx, r.client, tok, app, id, decider(dec.Who), dec.Force, time.Now())
	if err != nil {
		return nil, refused(err)
	}
	r.log.Info("runbook resumed", "app", app, "run", id, "by", decider(dec.Who), "force", dec.Force)
	answer := runbook.Clone(rec) // the engine goes on changing rec
	go r.execute(lctx, tok, rec)
	return answer, nil
}

// abortRun closes app's failed run id into the ledger as aborted; nothing runs. A run
// marked running is aborted only with force, and never while this leader executes it:
// a step's action could still land after the record says aborted.
func (r *runbooks) abort(ctx context.Context, app, id string, dec api.RunDecision) (*runbook.Record, error) {
	tok, _, err := r.leading(ctx)
	if err != nil {
		return nil, err
	}
	if dec.Force && r.executing(app, id, tok) {
		return nil, fmt.Errorf("%w: run %s of %s is executing at this leader; it stops by itself when a step fails", api.ErrRefused, id, app)
	}
	rec, err := runbook.AbortRun(ctx, r.client, tok, app, id, decider(dec.Who), dec.Reason, dec.Force, time.Now())
	if err != nil {
		return nil, refused(err)
	}
	r.log.Warn("runbook aborted", "app", app, "run", id, "by", decider(dec.Who), "reason", dec.Reason)
	return rec, nil
}

// leading returns the leader's token and leadership context, or api.ErrNotLeader
// naming the leader to ask.
func (r *runbooks) leading(ctx context.Context) (coord.Token, context.Context, error) {
	r.mu.Lock()
	tok, lctx := r.tok, r.lctx
	r.mu.Unlock()
	if tok.IsZero() || lctx == nil {
		leader, _ := coord.Leader(ctx, r.client)
		return coord.Token{}, nil, &api.NotLeaderError{Leader: leader.Holder}
	}
	return tok, lctx, nil
}

// executing reports whether this daemon runs app's run id under tok now (execute's
// key).
func (r *runbooks) executing(app, id string, tok coord.Token) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[runKey(app, id, tok)]
}

// anyRunning says whether this daemon executes a run now.
func (r *runbooks) anyRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running) > 0
}

// runKey names a run executed under one leadership term: a run started through the
// API while the new leader resumes open runs is not run twice.
func runKey(app, id string, tok coord.Token) string {
	return fmt.Sprintf("%s/%s@%d", app, id, tok.Rev)
}

func decider(who string) string {
	if who == "" {
		return "operator"
	}
	return who
}

// refused marks the run's state as the reason a decision was refused (400), keeping
// not-found (404) and fencing as they are.
func refused(err error) error {
	if errors.Is(err, runbook.ErrNotFailed) || errors.Is(err, runbook.ErrRunClosed) || errors.Is(err, runbook.ErrForceNeeded) {
		return fmt.Errorf("%w: %w", api.ErrRefused, err)
	}
	return err
}
