package runbook

import (
	"context"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/retry"
)

// Def is one step, written once: its name, what it does for the plan an operator
// reads, and its actions on an application's Env. The plans (plan.go) are lists of
// these; Env.Steps binds them to an Env for the engine.
type Def struct {
	Name string
	// Text is what the step does, for the plan an operator reads: a format string
	// where %[1]s is the site the run moves from and %[2]s the site it moves to.
	Text string
	// Data marks a step that acts on or checks the application's mirror set: it
	// fails, permanently, when this daemon cannot act on the set (Env.NoDriver).
	Data bool
	// Do acts under token; it must be harmless to run twice (see Step.Do).
	Do func(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error)
	// Done is the already-done check (see Step.Done); nil: Do's success is the check.
	Done func(env *Env, ctx context.Context, r *Record) (bool, error)
	// Preview says what Do would do with the state observed now, reading only
	// (Env.Preview); nil: the step's Text. It runs on a scratch copy of the record
	// and notes there what Do would record (the old primary, its final flush), so
	// that the previews of the steps after it see it.
	Preview func(env *Env, ctx context.Context, r *Record) (string, error)
}

// Bind is the step as the engine runs it on env.
func (d Def) Bind(env *Env) Step {
	if d.Data && env.NoDriver != nil {
		return Step{Name: d.Name, Do: env.noDriver}
	}
	s := Step{Name: d.Name}
	if d.Do != nil {
		s.Do = func(ctx context.Context, token coord.Token, r *Record) (string, error) {
			return d.Do(env, ctx, token, r)
		}
	}
	if d.Done != nil {
		s.Done = func(ctx context.Context, r *Record) (bool, error) { return d.Done(env, ctx, r) }
	}
	return s
}

// noDriver is every data step of an application whose mirror set this daemon cannot
// act on: it fails before acting (a failover's fence does not even move DNS), and
// permanently, so the run stops open for a leader that can act on the set to resume.
func (env *Env) noDriver(context.Context, coord.Token, *Record) (string, error) {
	return "", &retry.PermanentError{Err: env.NoDriver}
}
