package runbook

import (
	"context"
	"fmt"
	"strings"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// The data steps of a planned move (switchover, failback): the old primary is fenced
// while reachable, the target waits for its final position and is promoted requiring
// it, so nothing is lost; a failback first rejoins the home site's members.

// Step names of a planned move's data steps.
const (
	StepRejoin         = "rejoin"
	StepReady          = "ready"
	StepFenceWrites    = "fence-writes"
	StepDrain          = "drain"
	StepDataSwitchover = "data-switchover"
)

var ready = Def{
	Name: StepReady,
	Text: "check that %[2]s has a streaming data member and that %[1]s's primary is known",
	Data: true,
	Do: func(env *Env, ctx context.Context, _ coord.Token, r *Record) (string, error) {
		return readyCheck(env, ctx, r)
	},
	Preview: readyCheck, // the check only reads
}

// readyCheck checks that a switchover can start: a primary outside the target and a
// member at the target that receives its WAL.
func readyCheck(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("ready: %w", err)
	}
	p := st.Member(st.Primary)
	if p == nil {
		// A fenced primary (an earlier attempt) is fine: fence-writes finds it.
		if ws := writers(st, r.To, false); len(ws) > 0 {
			p = &ws[0]
		}
	}
	if p == nil || p.Site == r.To {
		return "", fmt.Errorf("ready: %w: no primary outside %s", ErrNotReady, r.To)
	}
	m, err := candidate(st, r.To)
	if err != nil {
		return "", fmt.Errorf("ready: %w", err)
	}
	if m.State != data.StateStreaming && m.State != data.StateCatchingUp {
		return "", retry.Retryable("ready: %w: %s is %s", ErrNotReady, m.Member, m.State)
	}
	return fmt.Sprintf("primary %s; %s %s, %d bytes behind", p.Member, m.Member, m.State, m.LagBytes), nil
}

var fenceWrites = Def{
	Name:    StepFenceWrites,
	Text:    "make %[1]s's primary refuse writes and record its final position",
	Data:    true,
	Do:      fenceWritesDo,
	Preview: fenceWritesPreview,
}

// fenceWritesDo makes the old primary refuse writes and records its final flush.
func fenceWritesDo(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence writes: %w", err)
	}
	old, err := oldPrimary(st, r.To)
	if err != nil {
		return "", err
	}
	if err := env.Data.Fence(ctx, old.Member, token.Rev); err != nil {
		return "", fmt.Errorf("fence writes: %w", err)
	}
	st, err = env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence writes: %w", err)
	}
	o := st.Member(old.Member)
	if o == nil || !o.Reachable || o.State != data.StateFenced {
		return "", retry.Retryable("fence writes: %s not seen fenced", old.Member)
	}
	r.OldPrimary, r.LastFlush = o.Member, o.FlushLSN
	return fmt.Sprintf("fenced %s at %s", o.Member, o.FlushLSN), nil
}

// oldPrimary is the primary a planned move fences: of the reachable primaries outside
// the target, the one on the newest timeline.
func oldPrimary(st *data.SetStatus, target string) (data.MemberStatus, error) {
	ws := writers(st, target, false)
	if len(ws) == 0 {
		return data.MemberStatus{}, retry.Retryable("fence writes: %w: no reachable primary outside %s", ErrNotReady, target)
	}
	old := ws[0]
	for _, w := range ws[1:] {
		if w.Timeline > old.Timeline {
			old = w
		}
	}
	return old, nil
}

func fenceWritesPreview(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence writes: %w", err)
	}
	old, err := oldPrimary(st, r.To)
	if err != nil {
		return "", err
	}
	// The final position is read after the fence; the flush now stands in for it.
	r.OldPrimary, r.LastFlush = old.Member, old.FlushLSN
	if old.State == data.StateFenced {
		return fmt.Sprintf("%s already fenced at %s", old.Member, old.FlushLSN), nil
	}
	return fmt.Sprintf("fence %s (%s, flushed %s now)", old.Member, old.State, old.FlushLSN), nil
}

var drain = Def{
	Name: StepDrain,
	Text: "wait until %[2]s's member has received the final position",
	Data: true,
	Do: func(*Env, context.Context, coord.Token, *Record) (string, error) {
		return "", nil // drained is the whole step
	},
	Done:    drained,
	Preview: drainPreview,
}

func drained(env *Env, ctx context.Context, r *Record) (bool, error) {
	if env.Data == nil {
		return true, nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return false, err
	}
	m, err := candidate(st, r.To)
	if err != nil {
		return false, err
	}
	// Replayed, not only flushed: the promotion refuses a member that has not replayed
	// the fenced primary's final position, and its retries back off for seconds while
	// this post-check polls every 100 ms.
	return m.ReplayLSN >= r.LastFlush, nil
}

func drainPreview(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	m, err := env.targetMember(ctx, "drain", r)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("wait until %s has replayed %s: at %s now, %d bytes to go",
		m.Member, r.LastFlush, m.ReplayLSN, max(r.LastFlush.Sub(m.ReplayLSN), 0)), nil
}

var dataSwitchover = Def{
	Name:    StepDataSwitchover,
	Text:    "promote %[2]s's member requiring the final position (nothing lost)",
	Data:    true,
	Do:      dataSwitchoverDo,
	Done:    promoted,
	Preview: dataSwitchoverPreview,
}

// dataSwitchoverDo promotes the target requiring the fenced primary's final position,
// so the promotion carries every commit (the driver refuses it until replayed).
func dataSwitchoverDo(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	m, err := env.targetMember(ctx, "data switchover", r)
	if err != nil {
		return "", err
	}
	tok := data.TokenFor(*m, token.Rev)
	tok.Position = r.LastFlush
	if m.ReplayLSN < r.LastFlush {
		return "", retry.Retryable("data switchover: %s replayed %s of %s", m.Member, m.ReplayLSN, r.LastFlush)
	}
	res, err := env.Data.Promote(ctx, m.Member, tok)
	if err != nil {
		return "", fmt.Errorf("data switchover to %s: %w", m.Member, err)
	}
	r.Promoted = m.Member
	loss := data.EstimateLoss(r.LastFlush, res.ReplayLSN)
	if loss.Bytes == 0 {
		loss.Transactions, loss.Counted = 0, true
		loss.Method = "positions: the promoted member replayed the fenced primary's final flush"
	} else {
		loss = env.loss(ctx, r, res.ReplayLSN)
	}
	r.RPO = &loss
	return fmt.Sprintf("promoted %s at %s (timeline %d)", m.Member, res.ReplayLSN, res.Timeline), nil
}

func dataSwitchoverPreview(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	m, err := env.targetMember(ctx, "data switchover", r)
	if err != nil {
		return "", err
	}
	r.Promoted = m.Member
	return fmt.Sprintf("promote %s (timeline %d) once it has replayed %s; expected loss none (it is %d bytes behind now, and the promotion waits)",
		m.Member, m.Timeline, r.LastFlush, max(r.LastFlush.Sub(m.ReplayLSN), 0)), nil
}

var rejoin = Def{
	Name:    StepRejoin,
	Text:    "%[2]s's data members follow %[1]s's primary again (pg_rewind, else a fresh clone)",
	Data:    true,
	Do:      rejoinDo,
	Done:    rejoined,
	Preview: rejoinPreview,
}

// rejoinDo makes every data member at the target (the old site, in a failback) follow
// the current primary: a former primary is rewound, a diverged member too.
func rejoinDo(env *Env, ctx context.Context, _ coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, strays, err := toRejoin(env, ctx, r)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, m := range strays {
		if err := env.Data.Rejoin(ctx, m.Member); err != nil {
			return "", retry.Retryable("rejoin %s: %w", m.Member, err)
		}
		parts = append(parts, m.Member+" rejoined")
	}
	if len(parts) == 0 {
		return "every member already follows " + st.Primary, nil
	}
	return strings.Join(parts, "; "), nil
}

// toRejoin are the target's members that do not follow the primary, which must be
// outside the target.
func toRejoin(env *Env, ctx context.Context, r *Record) (*data.SetStatus, []data.MemberStatus, error) {
	st, err := env.Data.Status(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("rejoin at %s: %w", r.To, err)
	}
	if p := st.Member(st.Primary); p == nil || p.Site == r.To {
		return nil, nil, retry.Retryable("rejoin at %s: %w: no primary outside it", r.To, ErrNotReady)
	}
	var out []data.MemberStatus
	for _, m := range st.Members {
		if m.Site == r.To && !following(m, st.Primary) {
			out = append(out, m)
		}
	}
	return st, out, nil
}

func rejoinPreview(env *Env, ctx context.Context, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, strays, err := toRejoin(env, ctx, r)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, m := range strays {
		parts = append(parts, fmt.Sprintf("%s (%s, timeline %d)", m.Member, m.State, m.Timeline))
	}
	if len(parts) == 0 {
		return "every member already follows " + st.Primary, nil
	}
	return "rejoin " + strings.Join(parts, ", ") + " to follow " + st.Primary, nil
}

func rejoined(env *Env, ctx context.Context, r *Record) (bool, error) {
	if env.Data == nil {
		return true, nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil || st.Primary == "" {
		return false, err
	}
	for _, m := range st.Members {
		if m.Site == r.To && !following(m, st.Primary) {
			return false, nil
		}
	}
	return true, nil
}

// following says whether m is a standby streaming from primary.
func following(m data.MemberStatus, primary string) bool {
	return m.Reachable && !m.Primary && m.Upstream == primary &&
		(m.State == data.StateStreaming || m.State == data.StateCatchingUp)
}
