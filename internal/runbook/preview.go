package runbook

import (
	"context"
	"fmt"
	"strings"
)

// StepPreview is what one step of a plan would do with the state observed now.
type StepPreview struct {
	Name string `json:"name"`
	// Plan is the step's description (Def.Text).
	Plan string `json:"plan"`
	// Would is what the step would do now: the members it would fence or promote, the
	// loss it expects; "already done" when its check holds.
	Would string `json:"would,omitempty"`
	// Error is why the step would not go on now (the run would retry or stop there).
	Error string `json:"error,omitempty"`
}

// Preview is a run's plan with what each step would do (--dry-run).
type Preview struct {
	Kind Kind   `json:"kind"`
	App  string `json:"app"`
	From string `json:"from"`
	To   string `json:"to"`
	// Notes are what the daemon found before the steps: the quorum's verdict, the
	// leader, whether the run would be refused.
	Notes []string      `json:"notes,omitempty"`
	Steps []StepPreview `json:"steps"`
}

// Preview says what each step of r's plan would do with the state observed now,
// acting on nothing: only reads (the driver's Status, etcd). r is not changed; the
// steps' previews share a copy on which each notes what its Do would record (the old
// primary, its flush) for the steps after it. A step whose already-done check holds
// is reported as such, as a resumed run would record it.
func (env *Env) Preview(ctx context.Context, r *Record) (*Preview, error) {
	defs, err := Plans(r.Kind)
	if err != nil {
		return nil, err
	}
	scratch := Clone(r)
	p := &Preview{Kind: r.Kind, App: r.App, From: r.From, To: r.To}
	for _, d := range defs {
		sp := StepPreview{Name: d.Name, Plan: d.describe(r.From, r.To)}
		switch {
		case d.Data && env.NoDriver != nil:
			sp.Error = env.NoDriver.Error()
		case d.Done != nil && done(env, ctx, d, scratch):
			sp.Would = "already done"
		case d.Preview != nil:
			would, err := d.Preview(env, ctx, scratch)
			if err != nil {
				sp.Error = err.Error()
			}
			sp.Would = would
		}
		p.Steps = append(p.Steps, sp)
	}
	return p, nil
}

func done(env *Env, ctx context.Context, d Def, r *Record) bool {
	held, err := d.Done(env, ctx, r)
	return err == nil && held
}

// String is the preview as numbered lines for an operator.
func (p *Preview) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s: %s → %s (dry run: the state observed now)\n", p.Kind, p.App, p.From, p.To)
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "  %d. %-16s %s\n", i+1, s.Name, s.Plan)
		if s.Would != "" {
			fmt.Fprintf(&b, "     %-16s would: %s\n", "", s.Would)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "     %-16s would stop: %s\n", "", s.Error)
		}
	}
	return b.String()
}
