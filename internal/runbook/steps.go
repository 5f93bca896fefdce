package runbook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
)

// Sites acts on the application's sites (Kubernetes). Both calls must be idempotent:
// they set counts, never add to them.
type Sites interface {
	// Capacity raises the policy's capacity objects at site and waits until they are
	// ready; a planned move does it before it stops writes.
	Capacity(ctx context.Context, app, site string) (string, error)
	// Activate scales the capacity objects at site first, then the application's
	// workloads to their recorded replica counts (replicate.Activate), and waits until
	// they are ready.
	Activate(ctx context.Context, app, site string) (string, error)
	// StandBy scales site back down to its stand-by style.
	StandBy(ctx context.Context, app, site string) (string, error)
}

// Env is what the steps of one application act on.
type Env struct {
	Client *clientv3.Client
	// Data drives the application's mirror set; nil for an application without one,
	// whose data steps have nothing to do.
	Data data.Driver
	// NoDriver, when set, says that the application has a mirror set and this daemon
	// cannot act on it: every data step fails with it, permanently (Data is nil then,
	// but "no mirror set" would be a lie).
	NoDriver *NoDriverError
	// Sites scales workloads; nil skips the activate and stand-by scaling (recorded).
	Sites Sites
	// VerifyURL is fetched through the target's load balancer by the verify step
	// ("" skips the HTTP check); HTTP is the client (default: 5 s timeout).
	VerifyURL string
	HTTP      *http.Client
	// Check, when set, is the application's own health check of site through its load
	// balancers (the daemon's probe); verify needs it to pass.
	Check func(ctx context.Context, site string) (string, error)
	// MainName, when set, checks that the application's main name answers site at a
	// quorum of the name servers (default a majority); verify needs it to pass, and
	// retries while it fails.
	MainName func(ctx context.Context, site string) (string, error)
	// LastKnownFlush is the old primary's last flush position the daemon observed,
	// used when the old primary cannot be read any more (nil: unknown).
	LastKnownFlush func() data.LSN
	// MaxAutoLoss is the most WAL (bytes) an automatic failover may lose (the mirror
	// set's maxLagOnFailover); nil: no bound. A person's decision is not bounded.
	MaxAutoLoss *int64
	// VerifyWait bounds how long the data marker is awaited on the target's members
	// (default 2 s); the other sites' members are not waited for (a fenced old primary
	// never shows the marker).
	VerifyWait time.Duration
	// Drain is how long the old site keeps serving after the dns step of a planned
	// move before standby-old scales it down: the answers' TTL, so that a client that
	// cached the old site's address still reaches a working application (it writes to
	// the new primary from there). Zero scales down at once.
	Drain time.Duration
	Log   *slog.Logger
}

// Steps returns every step bound to env, by name.
func (env *Env) Steps() map[string]Step {
	steps := []Step{
		{Name: StepFence, Do: env.fence, Done: env.fenced},
		{Name: StepPromote, Do: env.promote, Done: env.promoted},
		{Name: StepRejoin, Do: env.rejoin, Done: env.rejoined},
		{Name: StepReady, Do: env.ready},
		{Name: StepCapacity, Do: env.onTarget("capacity for", Sites.Capacity)},
		{Name: StepFenceWrites, Do: env.fenceWrites},
		{Name: StepDrain, Do: func(context.Context, coord.Token, *Record) (string, error) { return "", nil }, Done: env.drained},
		{Name: StepDataSwitchover, Do: env.switchData, Done: env.promoted},
		{Name: StepActivate, Do: env.onTarget("activate", Sites.Activate)},
		{Name: StepDNS, Do: env.dns, Done: env.dnsDone},
		{Name: StepVerify, Do: env.verify},
		{Name: StepStandbyOld, Do: env.standbyOld},
	}
	out := map[string]Step{}
	for _, s := range steps {
		if env.NoDriver != nil && dataSteps[s.Name] {
			s = Step{Name: s.Name, Do: env.noDriver}
		}
		out[s.Name] = s
	}
	return out
}

// dataSteps are the steps that act on or check the application's mirror set.
var dataSteps = map[string]bool{StepFence: true, StepPromote: true, StepRejoin: true, StepReady: true,
	StepFenceWrites: true, StepDrain: true, StepDataSwitchover: true, StepVerify: true, StepStandbyOld: true}

// noDriver is every data step of an application whose mirror set this daemon cannot
// act on: it fails before acting (a failover's fence does not even move DNS), and
// permanently, so the run stops open for a leader that can act on the set to resume.
func (env *Env) noDriver(context.Context, coord.Token, *Record) (string, error) {
	return "", &data.PermanentError{Err: env.NoDriver}
}

// setActive points the application's DNS at site: every daemon's name server answers
// from this key, so the answers move at once. The write is refused for a stale token.
func (env *Env) setActive(ctx context.Context, token coord.Token, app, site string) error {
	if err := coord.Guarded(ctx, env.Client, token, clientv3.OpPut(coord.ActiveKey(app), site)); err != nil {
		return fmt.Errorf("dns of %s to %s: %w", app, site, err)
	}
	return nil
}

func (env *Env) active(ctx context.Context, app string) (string, error) {
	resp, err := env.Client.Get(ctx, coord.ActiveKey(app))
	if err != nil {
		return "", fmt.Errorf("active site of %s: %w", app, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// fence moves DNS to the target first (clients stop reaching the old site at the
// next resolution), then fences every reachable primary outside the target.
func (env *Env) fence(ctx context.Context, token coord.Token, r *Record) (string, error) {
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
		for _, m := range st.Members {
			if m.Reachable && m.Site != r.To && m.FlushLSN > r.LastFlush {
				r.LastFlush = m.FlushLSN
			}
		}
	}
	if r.OldPrimary == "" {
		detail += "; no reachable primary at " + r.From
	}
	return detail + "; last flush " + r.LastFlush.String(), nil
}

func (env *Env) fenced(ctx context.Context, r *Record) (bool, error) {
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
func candidate(st *data.SetStatus, site string) (*data.MemberStatus, error) {
	var at []data.MemberStatus
	for _, m := range st.Members {
		if m.Site == site {
			at = append(at, m)
		}
	}
	_, best := data.MostAdvanced(at, 0)
	if best == nil {
		return nil, data.Retryable("%s: %w", site, ErrNoTarget)
	}
	return best, nil
}

// promote promotes the target's most advanced member with the leader's token and
// records what the old primary had that it did not carry.
func (env *Env) promote(ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("promote at %s: %w", r.To, err)
	}
	m, err := candidate(st, r.To)
	if err != nil {
		return "", fmt.Errorf("promote: %w", err)
	}
	if err := autoLossAllowed(r, m.FlushLSN, env.MaxAutoLoss); err != nil {
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

func (env *Env) promoted(ctx context.Context, r *Record) (bool, error) {
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

// ready checks that a switchover can start: a primary outside the target and a
// member at the target that receives its WAL.
func (env *Env) ready(ctx context.Context, _ coord.Token, r *Record) (string, error) {
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
		return "", data.Retryable("ready: %w: %s is %s", ErrNotReady, m.Member, m.State)
	}
	return fmt.Sprintf("primary %s; %s %s, %d bytes behind", p.Member, m.Member, m.State, m.LagBytes), nil
}

// fenceWrites makes the old primary refuse writes and records its final flush.
func (env *Env) fenceWrites(ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("fence writes: %w", err)
	}
	ws := writers(st, r.To, false)
	if len(ws) == 0 {
		return "", data.Retryable("fence writes: %w: no reachable primary outside %s", ErrNotReady, r.To)
	}
	old := ws[0]
	for _, w := range ws[1:] {
		if w.Timeline > old.Timeline {
			old = w
		}
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
		return "", data.Retryable("fence writes: %s not seen fenced", old.Member)
	}
	r.OldPrimary, r.LastFlush = o.Member, o.FlushLSN
	return fmt.Sprintf("fenced %s at %s", o.Member, o.FlushLSN), nil
}

func (env *Env) drained(ctx context.Context, r *Record) (bool, error) {
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

// switchData promotes the target requiring the fenced primary's final position, so
// the promotion carries every commit (the driver refuses it until replayed).
func (env *Env) switchData(ctx context.Context, token coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("data switchover: %w", err)
	}
	m, err := candidate(st, r.To)
	if err != nil {
		return "", fmt.Errorf("data switchover: %w", err)
	}
	tok := data.TokenFor(*m, token.Rev)
	tok.Position = r.LastFlush
	if m.ReplayLSN < r.LastFlush {
		return "", data.Retryable("data switchover: %s replayed %s of %s", m.Member, m.ReplayLSN, r.LastFlush)
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

// onTarget is a step that runs a Sites operation for the run's application at its
// target (Sites.Capacity, Sites.Activate).
func (env *Env) onTarget(what string, op func(Sites, context.Context, string, string) (string, error)) func(context.Context, coord.Token, *Record) (string, error) {
	return func(ctx context.Context, _ coord.Token, r *Record) (string, error) {
		if env.Sites == nil {
			return "no site operations configured", nil
		}
		d, err := op(env.Sites, ctx, r.App, r.To)
		if err != nil {
			return "", fmt.Errorf("%s %s at %s: %w", what, r.App, r.To, err)
		}
		return d, nil
	}
}

func (env *Env) dns(ctx context.Context, token coord.Token, r *Record) (string, error) {
	if err := env.setActive(ctx, token, r.App, r.To); err != nil {
		return "", err
	}
	return "active site " + r.To, nil
}

func (env *Env) dnsDone(ctx context.Context, r *Record) (bool, error) {
	a, err := env.active(ctx, r.App)
	return a == r.To, err
}

// verify checks the target through its load balancer and with a data marker, and
// stamps the run verified: the end of its RTO.
func (env *Env) verify(ctx context.Context, _ coord.Token, r *Record) (string, error) {
	var parts []string
	if env.VerifyURL != "" {
		code, err := env.get(ctx, env.VerifyURL)
		if err != nil {
			return "", fmt.Errorf("verify %s: %w", env.VerifyURL, err)
		}
		if code/100 != 2 {
			return "", data.Retryable("verify %s: %w: HTTP %d", env.VerifyURL, ErrVerify, code)
		}
		parts = append(parts, fmt.Sprintf("HTTP %d", code))
	}
	if env.MainName != nil {
		d, err := env.MainName(ctx, r.To)
		if err != nil {
			return "", data.Retryable("verify %s: %w: %w", r.To, ErrVerify, err)
		}
		parts = append(parts, d)
	}
	if env.Check != nil {
		d, err := env.Check(ctx, r.To)
		if err != nil {
			return "", data.Retryable("verify %s: %w: %w", r.To, ErrVerify, err)
		}
		parts = append(parts, d)
	}
	if env.Data != nil {
		st, err := env.Data.Status(ctx)
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		wait := env.VerifyWait
		if wait <= 0 {
			wait = 2 * time.Second
		}
		// The target's members that follow the primary; one still following the old
		// primary is repointed by standby-old and would only make this wait.
		var at []string
		for _, m := range st.Members {
			if m.Site == r.To && (m.Member == st.Primary || following(m, st.Primary)) {
				at = append(at, m.Member)
			}
		}
		vctx, cancel := context.WithTimeout(ctx, wait)
		res, err := env.Data.Verify(vctx, at...)
		cancel()
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		if p := st.Member(res.Primary); p == nil || p.Site != r.To {
			return "", data.Retryable("verify: %w: primary %s is not at %s", ErrVerify, res.Primary, r.To)
		}
		seen := 0
		for _, m := range res.Members {
			if m.Seen {
				seen++
			}
		}
		parts = append(parts, fmt.Sprintf("marker on %s seen by %d/%d members", res.Primary, seen, len(res.Members)))
	}
	MarkVerified(r, time.Now())
	if len(parts) == 0 {
		return "nothing to check: no HTTP check and no mirror set", nil
	}
	return strings.Join(parts, "; "), nil
}

func (env *Env) get(ctx context.Context, url string) (int, error) {
	c := env.HTTP
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, data.Retryable("%w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

// standbyOld makes the old site a stand-by again: its data members follow the new
// primary (the old primary is rewound), then its workloads scale to the stand-by style.
// After a failover the old site is usually gone, and its old primary (fenced, if it
// was reachable) keeps the commits the promotion lost for a person to look at: its
// data members are left to the failback's rejoin, and its workloads are made a
// stand-by now, or by the leader once the site answers (a pending mark in etcd).
func (env *Env) standbyOld(ctx context.Context, token coord.Token, r *Record) (string, error) {
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
				return "", data.Retryable("stand-by %s: rejoin %s: %w", r.From, m.Member, err)
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

// rejoin makes every data member at the target (the old site, in a failback) follow
// the current primary: a former primary is rewound, a diverged member too.
func (env *Env) rejoin(ctx context.Context, _ coord.Token, r *Record) (string, error) {
	if env.Data == nil {
		return "no mirror set", nil
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("rejoin at %s: %w", r.To, err)
	}
	if p := st.Member(st.Primary); p == nil || p.Site == r.To {
		return "", data.Retryable("rejoin at %s: %w: no primary outside it", r.To, ErrNotReady)
	}
	var parts []string
	for _, m := range st.Members {
		if m.Site != r.To || following(m, st.Primary) {
			continue
		}
		if err := env.Data.Rejoin(ctx, m.Member); err != nil {
			return "", data.Retryable("rejoin %s: %w", m.Member, err)
		}
		parts = append(parts, m.Member+" rejoined")
	}
	if len(parts) == 0 {
		return "every member already follows " + st.Primary, nil
	}
	return strings.Join(parts, "; "), nil
}

func (env *Env) rejoined(ctx context.Context, r *Record) (bool, error) {
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

func following(m data.MemberStatus, primary string) bool {
	return m.Reachable && !m.Primary && m.Upstream == primary &&
		(m.State == data.StateStreaming || m.State == data.StateCatchingUp)
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
		return data.Permanent("%w: automatic promotion with an unknown loss (no primary position known); a person must decide", ErrLossBound)
	}
	if est := data.EstimateLoss(r.LastFlush, flush); est.Bytes > *limit {
		return data.Permanent("%w: automatic promotion would lose %d bytes, more than maxLagOnFailover %d; a person must decide", ErrLossBound, est.Bytes, *limit)
	}
	return nil
}
