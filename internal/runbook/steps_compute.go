package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/retry"
)

// The compute steps: the application's workloads and capacity at its sites
// (Kubernetes, through Sites).

// Step names of the compute steps.
const (
	StepCapacity   = "capacity"
	StepActivate   = "activate"
	StepStandbyOld = "standby-old"
)

var capacity = onTarget(Def{
	Name: StepCapacity,
	Text: "raise the policy's capacity objects at %[2]s and wait until they are ready (before writes stop)",
}, "capacity for", Sites.Capacity)

var activate = onTarget(Def{
	Name: StepActivate,
	Text: "scale capacity, then workloads to their recorded replicas at %[2]s",
}, "activate", Sites.Activate)

// onTarget makes d a step that runs a Sites operation for the run's application at
// its target (Sites.Capacity, Sites.Activate).
func onTarget(d Def, what string, op func(Sites, context.Context, string, string) (string, error)) Def {
	d.Do = func(env *Env, ctx context.Context, _ coord.Token, r *Record) (string, error) {
		if env.Sites == nil {
			return "no site operations configured", nil
		}
		out, err := op(env.Sites, ctx, r.App, r.To)
		if err != nil {
			return "", fmt.Errorf("%s %s at %s: %w", what, r.App, r.To, err)
		}
		return out, nil
	}
	d.Preview = func(env *Env, _ context.Context, r *Record) (string, error) {
		if env.Sites == nil {
			return "nothing: no site operations configured", nil
		}
		return d.describe(r.From, r.To), nil
	}
	return d
}

var standbyOld = Def{
	Name: StepStandbyOld,
	Text: "%[1]s's data members rejoin as replicas; %[1]s serves for the DNS TTL more, then back to its stand-by style, its objects handed to replication (after a failover: workloads only, once %[1]s answers; data at failback)",
	// Data: the rejoins of a planned move.
	Data:    true,
	Do:      standbyOldDo,
	Preview: standbyOldPreview,
}

// standbyOldDo makes the old site a stand-by again: its data members follow the new
// primary (the old primary is rewound), then its workloads scale to the stand-by
// style. After a failover the old site is usually gone, and its old primary (fenced,
// if it was reachable) keeps the commits the promotion lost for a person to look at:
// its data members are left to the failback's rejoin, and its workloads are made a
// stand-by now, or by the leader once the site answers (a pending mark in etcd).
func standbyOldDo(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
	var parts []string
	lenient := r.Kind == Failover
	if env.Data != nil && lenient {
		parts = append(parts, "data members at "+r.From+" rejoin at failback")
	}
	if env.Data != nil && !lenient {
		st, err := env.Data.Status(ctx)
		if err != nil {
			return "", fmt.Errorf("stand-by %s: %w", r.From, err)
		}
		for _, m := range st.Members {
			// The old site's members, and any member of the new one that still
			// follows the old primary.
			if m.Member == st.Primary || (m.Site == r.To && following(m, st.Primary)) {
				continue
			}
			if err := env.Data.Rejoin(ctx, m.Member); err != nil {
				return "", retry.Retryable("stand-by %s: rejoin %s: %w", r.From, m.Member, err)
			}
			parts = append(parts, m.Member+" rejoined")
		}
	}
	if env.Sites != nil && !lenient {
		if waited, err := env.drain(ctx, r); err != nil {
			return "", err
		} else if waited > 0 {
			parts = append(parts, fmt.Sprintf("%s served %s more after DNS moved (TTL)", r.From, waited.Round(100*time.Millisecond)))
		}
	}
	if env.Sites != nil {
		d, err := env.Sites.StandBy(ctx, r.App, r.From)
		switch {
		case err != nil && lenient:
			if perr := coord.Guarded(ctx, env.Client, token, clientv3.OpPut(coord.PendingStandbyKey(r.App, r.From), r.ID)); perr != nil {
				return "", fmt.Errorf("stand-by %s later: %w", r.From, perr)
			}
			d = r.From + " unreachable: made a stand-by when it answers"
		case err != nil:
			return "", fmt.Errorf("stand-by %s: %w", r.From, err)
		}
		parts = append(parts, d)
	}
	if len(parts) == 0 {
		return "no mirror set and no site operations configured", nil
	}
	return strings.Join(parts, "; "), nil
}

// standbyOldPreview names the members a planned move would rejoin: every one but the
// member the plan promotes (the target's others still follow the old primary then).
func standbyOldPreview(env *Env, ctx context.Context, r *Record) (string, error) {
	var parts []string
	lenient := r.Kind == Failover
	if env.Data != nil && lenient {
		parts = append(parts, "data members at "+r.From+" rejoin at failback")
	}
	if env.Data != nil && !lenient {
		st, err := env.Data.Status(ctx)
		if err != nil {
			return "", fmt.Errorf("stand-by %s: %w", r.From, err)
		}
		primary := r.Promoted
		if primary == "" {
			primary = st.Primary
		}
		var rejoins []string
		for _, m := range st.Members {
			if m.Member != primary {
				rejoins = append(rejoins, m.Member)
			}
		}
		if len(rejoins) > 0 {
			parts = append(parts, "rejoin "+strings.Join(rejoins, ", ")+" to follow "+primary)
		}
	}
	if env.Sites != nil {
		if !lenient && env.Drain > 0 {
			parts = append(parts, fmt.Sprintf("%s serves %s more after DNS moves (TTL)", r.From, env.Drain))
		}
		parts = append(parts, r.From+" back to its stand-by style")
	}
	if len(parts) == 0 {
		return "no mirror set and no site operations configured", nil
	}
	return strings.Join(parts, "; "), nil
}

// drain waits until Drain has passed since the run's dns step ended, and says how
// long it waited. A resumed run waits only for what is left.
func (env *Env) drain(ctx context.Context, r *Record) (time.Duration, error) {
	var moved *time.Time
	for _, s := range r.Steps {
		if s.Name == StepDNS {
			moved = s.Ended
		}
	}
	if env.Drain <= 0 || moved == nil {
		return 0, nil
	}
	wait := time.Until(moved.Add(env.Drain))
	if wait <= 0 {
		return 0, nil
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(wait):
	}
	return wait, nil
}
