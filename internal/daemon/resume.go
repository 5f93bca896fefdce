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
func (d *Daemon) resumeRun(ctx context.Context, app, id string, dec api.RunDecision) (*runbook.Record, error) {
	tok, lctx, err := d.leading(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := runbook.ResumeRun(ctx, d.client, tok, app, id, decider(dec.Who), dec.Force, time.Now())
	if err != nil {
		return nil, refused(err)
	}
	d.log.Info("runbook resumed", "app", app, "run", id, "by", decider(dec.Who), "force", dec.Force)
	answer := runbook.Clone(rec) // the engine goes on changing rec
	go d.execute(lctx, tok, rec)
	return answer, nil
}

// abortRun closes app's failed run id into the ledger as aborted; nothing runs. A run
// marked running is aborted only with force, and never while this leader executes it:
// a step's action could still land after the record says aborted.
func (d *Daemon) abortRun(ctx context.Context, app, id string, dec api.RunDecision) (*runbook.Record, error) {
	tok, _, err := d.leading(ctx)
	if err != nil {
		return nil, err
	}
	if dec.Force && d.executing(app, id, tok) {
		return nil, fmt.Errorf("%w: run %s of %s is executing at this leader; it stops by itself when a step fails", api.ErrRefused, id, app)
	}
	rec, err := runbook.AbortRun(ctx, d.client, tok, app, id, decider(dec.Who), dec.Reason, dec.Force, time.Now())
	if err != nil {
		return nil, refused(err)
	}
	d.log.Warn("runbook aborted", "app", app, "run", id, "by", decider(dec.Who), "reason", dec.Reason)
	return rec, nil
}

// leading returns the leader's token and leadership context, or api.ErrNotLeader
// naming the leader to ask.
func (d *Daemon) leading(ctx context.Context) (coord.Token, context.Context, error) {
	d.mu.Lock()
	tok, lctx := d.leader, d.leadCtx
	d.mu.Unlock()
	if tok.IsZero() || lctx == nil {
		leader, _ := coord.Leader(ctx, d.client)
		return coord.Token{}, nil, fmt.Errorf("%w: ask %s", api.ErrNotLeader, leader.Holder)
	}
	return tok, lctx, nil
}

// executing reports whether this daemon runs app's run id under tok now (execute's
// key).
func (d *Daemon) executing(app, id string, tok coord.Token) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running[fmt.Sprintf("%s/%s@%d", app, id, tok.Rev)]
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
