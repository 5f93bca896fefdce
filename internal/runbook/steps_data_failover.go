package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// The data steps of a failover: the old site is lost or cut off, so its primary is
// fenced where it can still be reached and the target's most advanced member is
// promoted, recording what that loses.

// Step names of a failover's data steps.
const (
	StepFence   = "fence"
	StepPromote = "promote"
)

var fence = Def{
	Name:    StepFence,
	Text:    "DNS answers %[2]s at once; fence %[1]s's primary where reachable",
	Data:    true,
	Do:      fenceDo,
	Done:    fenceDone,
	Preview: fencePreview,
}

// fenceDo moves DNS to the target first (clients stop reaching the old site at the
// next resolution), then fences every reachable primary outside the target.
func fenceDo(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
	if err := env.setActive(ctx, token, r.App, r.To); err != nil {
		return "", err
	}
	detail := "dns → " + r.To
	if env.Data == nil {
		return detail, nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence %s: %w", r.From, err)
	}
	if env.LastKnownFlush != nil {
		r.LastFlush = max(r.LastFlush, env.LastKnownFlush())
	}
	recordPromise(env, st, r)
	recordArchive(env, r)
	for _, m := range writers(st, r.To, true) {
		if err := env.Data.Fence(ctx, m.Member, token.Rev); err != nil {
			// A reachable primary that cannot be fenced would be a second writer.
			return "", fmt.Errorf("fence %s: %w", m.Member, err)
		}
		r.OldPrimary = m.Member
		detail += "; fenced " + m.Member
	}
	// The final positions are read after fencing: nothing commits past them now.
	if st, err = env.Data.Status(ctx); err == nil {
		recordFlush(st, r)
	}
	if r.OldPrimary == "" {
		detail += "; no reachable primary at " + r.From
	}
	return detail + "; last flush " + r.LastFlush.String(), nil
}

// recordPromise records how the old primary kept the set's data-loss mode: as st
// shows it while that primary still accepts writes, else as the daemon last saw it. A
// promise recorded already (by an earlier attempt, before the fence) stays.
func recordPromise(env *Env, st *data.SetStatus, r *Record) {
	if r.Promise != nil {
		return
	}
	if p := st.Member(st.Primary); p != nil && p.Site != r.To && st.Promise != nil {
		pr := *st.Promise
		r.Promise = &pr
		return
	}
	if env.LastPromise != nil {
		if pr := env.LastPromise(); pr != nil {
			c := *pr
			r.Promise = &c
		}
	}
}

// recordFlush raises r's last flush to the furthest any reachable member outside the
// target has flushed.
func recordFlush(st *data.SetStatus, r *Record) {
	for _, m := range st.Members {
		if m.Reachable && m.Site != r.To && m.FlushLSN > r.LastFlush {
			r.LastFlush = m.FlushLSN
		}
	}
}

func fenceDone(env *Env, ctx context.Context, r *Record) (bool, error) {
	a, err := env.active(ctx, r.App)
	if err != nil || a != r.To {
		return false, err
	}
	if env.Data == nil {
		return true, nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return false, err
	}
	// Done only when the old primary's position was recorded too (or none is there).
	return len(writers(st, r.To, true)) == 0 && (r.LastFlush != 0 || r.OldPrimary == ""), nil
}

// fencePreview names the primaries the fence would reach and the last flush it would
// record (the positions now: a primary still accepting writes goes on until fenced).
func fencePreview(env *Env, ctx context.Context, r *Record) (string, error) {
	parts := []string{"dns → " + r.To}
	if env.Data == nil {
		return parts[0] + "; no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence %s: %w", r.From, err)
	}
	if env.LastKnownFlush != nil {
		r.LastFlush = max(r.LastFlush, env.LastKnownFlush())
	}
	recordPromise(env, st, r)
	recordArchive(env, r)
	for _, m := range writers(st, r.To, true) {
		r.OldPrimary = m.Member
		parts = append(parts, fmt.Sprintf("fence %s (primary at %s, flushed %s)", m.Member, m.Site, m.FlushLSN))
	}
	for _, m := range writers(st, r.To, false) {
		if m.State == data.StateFenced {
			r.OldPrimary = m.Member
			parts = append(parts, m.Member+" already fenced")
		}
	}
	for _, m := range st.Members {
		if !m.Reachable && m.Site != r.To {
			parts = append(parts, m.Member+" unreachable")
		}
	}
	recordFlush(st, r)
	if r.OldPrimary == "" {
		parts = append(parts, "no reachable primary at "+r.From)
	}
	last := "last flush " + r.LastFlush.String()
	if r.LastFlush == 0 {
		last = "no primary position known"
	}
	return strings.Join(append(parts, last), "; "), nil
}

var promote = Def{
	Name:    StepPromote,
	Text:    "promote the most advanced member at %[2]s with the leader's token; record the loss",
	Data:    true,
	Do:      promoteDo,
	Done:    promoted,
	Preview: promotePreview,
}

// promoteDo promotes the target's most advanced member with the leader's token and
// records what the old primary had that it did not carry.
func promoteDo(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	if env.restoreBegun(r) {
		return env.restoreIfAllLost(ctx, r, ErrNoTarget)
	}
	m, err := env.targetMember(ctx, "promote", r)
	if errors.Is(err, ErrNoTarget) {
		return env.restoreIfAllLost(ctx, r, err)
	}
	if err != nil {
		return "", err
	}
	if err := autoLossAllowed(r, m.FlushLSN, env.MaxAutoLoss); err != nil {
		return "", fmt.Errorf("promote %s: %w", m.Member, err)
	}
	if err := holdsEveryCommit(env, r, m.Member); err != nil {
		return "", fmt.Errorf("promote %s: %w", m.Member, err)
	}
	res, err := env.Data.Promote(ctx, m.Member, data.TokenFor(*m, token.Rev))
	if err != nil {
		return "", fmt.Errorf("promote %s: %w", m.Member, err)
	}
	r.Promoted = m.Member
	loss := env.loss(ctx, r, res.ReplayLSN)
	r.RPO = &loss
	txns := "transactions not counted"
	if loss.Counted {
		txns = fmt.Sprintf("%d transactions", loss.Transactions)
	}
	return fmt.Sprintf("promoted %s at %s (timeline %d); lost %d bytes, %s", m.Member, res.ReplayLSN, res.Timeline, loss.Bytes, txns), nil
}

// promotePreview names the member the promotion would choose and the loss expected
// from the positions now: the old primary's flush against the member's.
func promotePreview(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	m, err := env.targetMember(ctx, "promote", r)
	if errors.Is(err, ErrNoTarget) {
		return env.restorePreview(ctx, r, err)
	}
	if err != nil {
		return "", err
	}
	if err := autoLossAllowed(r, m.FlushLSN, env.MaxAutoLoss); err != nil {
		return "", fmt.Errorf("promote %s: %w", m.Member, err)
	}
	if err := holdsEveryCommit(env, r, m.Member); err != nil {
		return "", fmt.Errorf("promote %s: %w", m.Member, err)
	}
	r.Promoted = m.Member
	return fmt.Sprintf("promote %s (%s, flushed %s, timeline %d); %s", m.Member, m.State, m.FlushLSN, m.Timeline, expectedLoss(r, m.FlushLSN)), nil
}

// expectedLoss is the loss a promotion of a member that has flush would record, from
// the positions known now.
func expectedLoss(r *Record, flush data.LSN) string {
	if r.LastFlush == 0 && r.OldPrimary == "" {
		return "loss unknown: no primary position known"
	}
	est := data.EstimateLoss(r.LastFlush, flush)
	if est.Bytes <= 0 {
		return "expected loss none (0 bytes)"
	}
	s := fmt.Sprintf("expected loss %d bytes (%s − %s)", est.Bytes, r.LastFlush, flush)
	if r.OldPrimary == "" {
		s += ", at least: the old primary is out of reach"
	}
	return s
}

// loss measures the promotion's RPO: positions always, the exact transaction count
// when the driver can read the old primary's WAL.
func (env *Env) loss(ctx context.Context, r *Record, replay data.LSN) data.Loss {
	if r.LastFlush == 0 && r.OldPrimary == "" {
		return data.Loss{From: replay, Bytes: -1, Transactions: -1, Method: "unknown: no primary position was known"}
	}
	loss := data.EstimateLoss(r.LastFlush, replay)
	if r.OldPrimary == "" {
		loss.Method = "at least: the old primary's last flush the daemons saw before it was lost; " +
			"counted exactly when it returns and is rewound"
	}
	if lc, ok := env.Data.(data.LossCounter); ok && r.OldPrimary != "" {
		if counted, err := lc.CountLoss(ctx, r.OldPrimary, replay, r.LastFlush); err == nil {
			return counted
		} else if env.Log != nil {
			env.Log.Warn("exact loss count failed; bytes only", "err", err)
		}
	}
	return loss
}

// promoted is the already-done check of both promotions: the primary is at the
// target.
func promoted(env *Env, ctx context.Context, r *Record) (bool, error) {
	if env.Data == nil {
		return true, nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return false, err
	}
	p := st.Member(st.Primary)
	if p == nil || p.Site != r.To {
		return false, nil
	}
	if r.Promoted == "" {
		r.Promoted = p.Member
	}
	return true, nil
}

// autoLossAllowed refuses an automatic promotion of a member that received WAL up to
// flush when it would lose more than limit bytes, or an unknown amount: a person
// decides then (hadron failover --force). The refusal is permanent: retrying does not
// bring the lost WAL back.
func autoLossAllowed(r *Record, flush data.LSN, limit *int64) error {
	if r.Who != "auto" || r.Force || limit == nil {
		return nil
	}
	if r.LastFlush == 0 && r.OldPrimary == "" {
		return retry.Permanent("%w: automatic promotion with an unknown loss (no primary position known); a person must decide", ErrLossBound)
	}
	if est := data.EstimateLoss(r.LastFlush, flush); est.Bytes > *limit {
		return retry.Permanent("%w: automatic promotion would lose %d bytes, more than maxLagOnFailover %d; a person must decide", ErrLossBound, est.Bytes, *limit)
	}
	return nil
}

// holdsEveryCommit refuses an automatic promotion, in mode synchronous, of a member
// not known to hold every commit the old primary acknowledged: one its commits did not
// wait for when it was last seen, or any member when the promise was not in force or
// was never seen. Promoting it could lose acknowledged writes, which the mode promises
// never happens: a person decides then (hadron failover --force, or a forced resume).
func holdsEveryCommit(env *Env, r *Record, member string) error {
	if r.Who != "auto" || r.Force || env.LossMode != v1alpha1.DataLossSynchronous {
		return nil
	}
	switch p := r.Promise; {
	case p == nil:
		return retry.Permanent("%w: mode synchronous, but how the old primary kept it was never seen, so no member is known to hold every commit; a person must decide", ErrLossBound)
	case !p.InForce:
		return retry.Permanent("%w: mode synchronous was not in force when the old primary was last seen (%s): no member is known to hold every commit; a person must decide", ErrLossBound, p.Setting)
	case !p.Holds(member):
		return retry.Permanent("%w: mode synchronous: %s is not one of the members every commit waited for (%s); a person must decide", ErrLossBound, member, strings.Join(p.Holders, ", "))
	}
	return nil
}

// writers are the reachable primaries outside site; with unfencedOnly, only those
// still accepting writes.
func writers(st *data.SetStatus, site string, unfencedOnly bool) []data.MemberStatus {
	var out []data.MemberStatus
	for _, m := range st.Members {
		if m.Reachable && m.Primary && m.Site != site && (!unfencedOnly || m.State != data.StateFenced) {
			out = append(out, m)
		}
	}
	return out
}

// candidate is the most advanced standby at site.
// targetMember observes the set and returns the member at the run's target that a
// promotion there would take (candidate); what names the step in the errors.
func (env *Env) targetMember(ctx context.Context, what string, r *Record) (*data.MemberStatus, error) {
	st, err := env.Data.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", what, r.To, err)
	}
	m, err := candidate(st, r.To)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return m, nil
}

func candidate(st *data.SetStatus, site string) (*data.MemberStatus, error) {
	var at []data.MemberStatus
	for _, m := range st.Members {
		if m.Site == site {
			at = append(at, m)
		}
	}
	_, best := data.MostAdvanced(at, 0)
	if best == nil {
		return nil, retry.Retryable("%s: %w", site, ErrNoTarget)
	}
	return best, nil
}
