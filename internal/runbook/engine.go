package runbook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/retry"
)

// Step is one idempotent stage of a run.
type Step struct {
	Name string
	// Pre must hold before Do runs (nil: always). Its error is retried within the
	// step's budget.
	Pre func(ctx context.Context, r *Record) error
	// Done is the post-check: whether the step's effect holds. It is asked before Do —
	// a leader that resumes a run finds the deposed leader's work done and only records
	// it — and polled after Do until it holds. Nil means Do's success is the check.
	Done func(ctx context.Context, r *Record) (bool, error)
	// Do acts under token; every side effect passes the token on (a guarded etcd write,
	// a promotion token). It must be harmless to run twice. detail is recorded.
	Do func(ctx context.Context, token coord.Token, r *Record) (detail string, err error)
}

// DefaultBudget is how long one step may keep failing before the run stops.
const DefaultBudget = 2 * time.Minute

// Engine runs records step by step while its token leads.
type Engine struct {
	Client *clientv3.Client
	Steps  map[string]Step
	// Budget bounds each step's attempts and post-check (default DefaultBudget).
	Budget time.Duration
	Log    *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is called after every stored change (the CLI's live view).
	Progress func(r *Record)
}

// Run executes r from its first unfinished step to the end and closes it into the
// ledger. It returns coord.ErrFenced (wrapped) as soon as token stops leading — the
// next leader resumes the run — and a step's error when the step exhausted its
// budget, leaving the run open in StatusFailed until a person resumes it (ResumeRun,
// then Run again) or aborts it (AbortRun). A run aborted meanwhile stops it at its
// next save (ErrRunClosed).
func (e *Engine) Run(ctx context.Context, token coord.Token, r *Record) error {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("app", r.App, "run", r.ID, "kind", r.Kind, "token", token.Rev)
	// Each save is a guarded write across regions; the end of a step and the start of
	// the next share one, and a save that just succeeded stands in for the fencing
	// check before the next step acts.
	begun, saved := r.savedStep-1, r.savedAt // the step whose start the last save carried
	for {
		i, more := Next(r)
		if !more {
			break
		}
		st, ok := e.Steps[r.Steps[i].Name]
		if !ok {
			return fmt.Errorf("run %s: step %q: %w", r.ID, r.Steps[i].Name, ErrUnknownStep)
		}
		// Work found done counts as resumed only when an earlier attempt (another
		// leader's, perhaps) started the step; on a first attempt it was just not needed.
		wasStarted := r.Steps[i].Started != nil && begun != i
		if begun != i {
			Begin(r, i, token.Rev, e.now())
			if err := e.save(ctx, token, r); err != nil {
				return err
			}
			saved = e.now()
		}
		start := e.now()
		detail, resumed, err := e.step(ctx, token, st, r, saved)
		if coord.IsFenced(err) || ctx.Err() != nil {
			log.Warn("run stops: no longer leading", "step", st.Name, "err", err)
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("run %s: %s: %w", r.ID, st.Name, err)
		}
		if err != nil {
			Fail(r, i, err)
			log.Error("step failed", "step", st.Name, "err", err)
			if serr := e.save(ctx, token, r); serr != nil {
				return serr
			}
			return fmt.Errorf("run %s: %s: %w", r.ID, st.Name, err)
		}
		resumed = resumed && wasStarted
		End(r, i, token.Rev, e.now(), detail, resumed)
		log.Info("step done", "step", st.Name, "took", e.now().Sub(start).Round(time.Millisecond), "resumed", resumed, "detail", detail)
		begun = -1
		if j, more := Next(r); more {
			Begin(r, j, token.Rev, e.now())
			begun = j
		}
		if err := e.save(ctx, token, r); err != nil {
			return err
		}
		saved = e.now()
		r.savedStep, r.savedAt = begun+1, saved
	}
	now := e.now()
	r.Closed, r.Status = &now, StatusDone
	if err := Close(ctx, e.Client, token, r); err != nil {
		return err
	}
	e.progress(r)
	log.Info("run closed", "rto", r.RTO, "rpo", r.RPO)
	return nil
}

// step runs one step with retries until it succeeds, is fenced, fails permanently or
// its budget ends.
func (e *Engine) step(ctx context.Context, token coord.Token, st Step, r *Record, saved time.Time) (string, bool, error) {
	budget := e.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	sctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		detail, resumed, err := e.attempt(sctx, token, st, r, saved)
		if err == nil || coord.IsFenced(err) || ctx.Err() != nil {
			return detail, resumed, err
		}
		var perm *retry.PermanentError
		if errors.As(err, &perm) || sctx.Err() != nil {
			return "", false, err
		}
		select {
		case <-sctx.Done():
			return "", false, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// freshGuard is how recent a successful guarded save must be to stand in for the
// fencing check before a step acts: far below the lease, which a deposed leader must
// outlive before another leader can act.
const freshGuard = 500 * time.Millisecond

func (e *Engine) attempt(ctx context.Context, token coord.Token, st Step, r *Record, saved time.Time) (string, bool, error) {
	if st.Pre != nil {
		if err := st.Pre(ctx, r); err != nil {
			return "", false, err
		}
	}
	if st.Done != nil {
		held, err := st.Done(ctx, r)
		if err == nil && held {
			return "already done", true, nil
		}
	}
	if e.now().Sub(saved) > freshGuard {
		if err := coord.Fenced(ctx, e.Client, token); err != nil {
			return "", false, err
		}
	}
	detail, err := st.Do(ctx, token, r)
	if err != nil {
		return "", false, err
	}
	if st.Done == nil {
		return detail, false, nil
	}
	for {
		held, err := st.Done(ctx, r)
		if err == nil && held {
			return detail, false, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%w: %s: post-check does not hold", ErrNotReady, st.Name)
			}
			return "", false, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (e *Engine) save(ctx context.Context, token coord.Token, r *Record) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := Save(sctx, e.Client, token, r); err != nil {
		return err
	}
	e.progress(r)
	return nil
}

func (e *Engine) progress(r *Record) {
	if e.Progress != nil {
		e.Progress(r)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// NewID names a run started at t: sortable, unique per application and millisecond.
func NewID(kind Kind, t time.Time) string {
	return t.UTC().Format("20060102T150405.000Z") + "-" + string(kind)
}

// Launch plans a run of kind and records it as app's open run under token, with its
// first step started; prepare, when given, fills in what the decision knew (the first
// failed probe). Nothing has acted yet when it returns; Engine.Run does.
func Launch(ctx context.Context, c *clientv3.Client, token coord.Token, kind Kind, app, from, to, who string, force bool, now time.Time, prepare ...func(*Record)) (*Record, error) {
	plan, err := Plan(kind)
	if err != nil {
		return nil, err
	}
	r := NewRecord(NewID(kind, now), app, kind, from, to, who, now, plan)
	r.Force = force
	for _, p := range prepare {
		p(r)
	}
	Begin(r, 0, token.Rev, time.Now())
	if err := Start(ctx, c, token, r); err != nil {
		return nil, err
	}
	r.savedStep, r.savedAt = 1, time.Now()
	return r, nil
}
