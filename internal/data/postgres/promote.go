package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// Promote checks token against member, stops its WAL receiver so that its final
// position is exact, waits until it has replayed all it received, and promotes it with
// pg_promote. See data.Driver.
func (d *Driver) Promote(ctx context.Context, member string, token data.PromotionToken) (*data.PromoteResult, error) {
	start := time.Now()
	m, err := d.member(member)
	if err != nil {
		return nil, err
	}
	// The token lock is held until the member is promoted: a leader with a higher token
	// waits, then finds the promotion done and its own token above ours.
	conn, done, g, err := d.guardedSession(ctx, m.Name, token.FencingToken, false)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	ok := false
	defer func() { done(ok) }()
	o := observation{st: data.MemberStatus{Member: member}}
	if err := d.query(ctx, conn, &o); err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	if !o.st.Primary {
		// As Status saw it (the token was made from it): the timeline it received.
		d.mu.Lock()
		o.st.Timeline = standbyTimeline(d.timelines, o.st, o.receiving)
		d.mu.Unlock()
	}
	switch {
	case o.st.Primary:
		return nil, retry.Permanent("promote %s: %w", member, data.ErrAlreadyPrimary)
	case o.st.SystemID != token.SystemID:
		return nil, retry.Permanent("promote %s: %w: system identifier %d, token %d", member, data.ErrTokenMismatch, o.st.SystemID, token.SystemID)
	case o.st.Timeline != token.Timeline:
		return nil, retry.Permanent("promote %s: %w: timeline %d, token %d", member, data.ErrTokenMismatch, o.st.Timeline, token.Timeline)
	case o.st.ReplayLSN < token.Position:
		return nil, retry.Retryable("promote %s: %w: replayed %s, token %s", member, data.ErrBehind, o.st.ReplayLSN, token.Position)
	}
	// The promise of the set's data-loss mode carries over to a member promoted in
	// its old primary's region (promotedSync).
	old := ""
	if o.upstreamAddr != "" {
		old = d.memberAt(o.upstreamAddr, d.region(m))
	}
	// A member in a pod follows whoever hadron last named primary when it starts: the
	// name changes before the promotion, so an old primary's pod that restarts from
	// here on rewinds instead of starting as a second writer. A site out of reach (a
	// lost region) may miss the name; its old primary's pod then holds, read-only, until
	// a rejoin names the primary there (memberpods.PlanPrimary).
	if d.inPod(m) {
		if err := d.cfg.Pods.SetPrimary(ctx, member); err != nil {
			return nil, fmt.Errorf("promote %s: %w", member, err)
		}
	}
	final, err := d.detach(ctx, conn, member, append(g.raise(), setting{"synchronous_standby_names", d.promotedSync(member, old)})...)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	var promoted bool
	if err := conn.QueryRow(ctx, `select pg_promote(true, 60)`).Scan(&promoted); err != nil || !promoted {
		return nil, fmt.Errorf("promote %s: pg_promote: ok=%v: %v", member, promoted, err)
	}
	res := &data.PromoteResult{Member: member, ReplayLSN: final}
	after := append([]string{`select pg_walfile_name(pg_current_wal_lsn())`, unlockSQL}, d.slotStatements(member)...)
	out, err := pipelined(ctx, conn, after...)
	if len(out[0]) >= 8 {
		fmt.Sscanf(out[0][:8], "%08X", &res.Timeline)
	}
	if err != nil {
		// The session may still hold the token lock: close it rather than keep it.
		d.log.Warn("replication slots after promotion", "member", member, "err", err)
	}
	ok = err == nil
	res.Took = time.Since(start)
	d.log.Info("promoted", "member", member, "replay", final, "timeline", res.Timeline, "took", res.Took)
	return res, nil
}

// detach stops member's WAL receiver (primary_conninfo = ”) and waits until replay
// reaches the received position, which it returns: the exact end of what the member
// carries into its promotion. extra settings (the raised fencing token, the synchronous
// stand-by names it starts with as a primary) go in the same round trip, as does the
// reset of the read-only default a primary must not inherit from a fenced former
// primary: on a stand-by these change nothing.
func (d *Driver) detach(ctx context.Context, conn *pgx.Conn, member string, extra ...setting) (data.LSN, error) {
	if err := reconfigure(ctx, conn, append(extra, setting{"primary_conninfo", ""}, setting{"default_transaction_read_only", ""})...); err != nil {
		return 0, fmt.Errorf("detach %s: %w", member, err)
	}
	var last, stalled replayState
	err := pollUntil(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		var recv, replay string
		now := replayState{at: time.Now()}
		err := conn.QueryRow(ctx, `select exists(select 1 from pg_stat_wal_receiver where pid is not null),
			coalesce(pg_last_wal_receive_lsn()::text,''), coalesce(pg_last_wal_replay_lsn()::text,'0/0'),
			coalesce((select wait_event from pg_stat_activity where backend_type = 'startup'),'')`).Scan(&now.receiving, &recv, &replay, &now.wait)
		if err != nil {
			return false, err
		}
		if now.replayed, err = data.ParseLSN(replay); err != nil {
			return false, err
		}
		if recv != "" {
			if now.received, err = data.ParseLSN(recv); err != nil {
				return false, err
			}
		}
		last = now
		done := replayDone(now, stalled)
		if !now.stalled() || (stalled.stalled() && stalled.replayed != now.replayed) {
			stalled = replayState{}
		}
		if now.stalled() && stalled.at.IsZero() {
			stalled = now
		}
		return done, nil
	})
	if err != nil {
		return 0, fmt.Errorf("detach %s from its upstream (%s): %w", member, last, err)
	}
	return last.replayed, nil
}

// replayState is one look at a stand-by's recovery while it detaches.
type replayState struct {
	at                 time.Time
	receiving          bool
	received, replayed data.LSN
	wait               string // the startup process's wait event
}

// stalled: no receiver, and the startup process waits for WAL that no source has.
func (s replayState) stalled() bool {
	return !s.receiving && (s.wait == "RecoveryRetrieveRetryInterval" || s.wait == "RecoveryWalStream")
}

func (s replayState) String() string {
	return fmt.Sprintf("receiving=%v received=%s replayed=%s startup waits on %q", s.receiving, s.received, s.replayed, s.wait)
}

// replaySettle is how long replay must stand still, short of the received position,
// before detach takes it as final.
const replaySettle = 300 * time.Millisecond

// replayDone says whether a detached stand-by has replayed all it will: everything it
// received, or — when the received WAL ends inside a record, as it does when the
// upstream dies after flushing a page that ends mid-record — everything up to the last
// whole record, which the startup process has reached once it waits for WAL with replay
// unchanged since the first stalled look.
func replayDone(now, firstStalled replayState) bool {
	switch {
	case now.receiving:
		return false
	case now.replayed >= now.received:
		return true
	case !now.stalled() || firstStalled.at.IsZero() || !firstStalled.stalled():
		return false
	}
	return firstStalled.replayed == now.replayed && now.at.Sub(firstStalled.at) >= replaySettle
}
