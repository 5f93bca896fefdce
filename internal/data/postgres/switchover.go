package postgres

import (
	"context"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// Switchover changes the primary to target without losing a commit: fence the primary,
// read its final flush position, wait until target has received it, promote target
// with a token requiring that position, repoint the other standbys, and rejoin the old
// primary (pg_rewind when its WAL went past the promotion point, for example with a
// checkpoint record written after the fence).
func (d *Driver) Switchover(ctx context.Context, target string, fencingToken int64) (*data.PromoteResult, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("switchover to %s: %w", target, err)
	}
	old := st.Primary
	if old == "" {
		return nil, fmt.Errorf("switchover to %s: %w", target, data.ErrNoPrimary)
	}
	t := st.Member(target)
	if t == nil {
		return nil, fmt.Errorf("switchover: %s: %w", target, data.ErrUnknownMember)
	}
	if t.Primary {
		return nil, retry.Permanent("switchover to %s: %w", target, data.ErrAlreadyPrimary)
	}
	if t.State != data.StateStreaming && t.State != data.StateCatchingUp {
		return nil, retry.Retryable("switchover to %s: it is %s, not streaming", target, t.State)
	}
	if err := d.Fence(ctx, old, fencingToken); err != nil {
		return nil, fmt.Errorf("switchover to %s: %w", target, err)
	}
	var final data.LSN
	conn, err := d.connect(ctx, d.members[old], "postgres")
	if err != nil {
		return nil, fmt.Errorf("switchover to %s: read final position of %s: %w", target, old, err)
	}
	var s string
	err = conn.QueryRow(ctx, `select pg_current_wal_flush_lsn()::text`).Scan(&s)
	conn.Close(context.Background())
	if err == nil {
		final, err = data.ParseLSN(s)
	}
	if err != nil {
		return nil, fmt.Errorf("switchover to %s: %w", target, err)
	}
	var tok data.PromotionToken
	if err := pollUntil(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		st, err := d.Status(ctx)
		if err != nil {
			return false, err
		}
		m := st.Member(target)
		tok = data.TokenFor(*m, fencingToken)
		return m.FlushLSN >= final, nil
	}); err != nil {
		return nil, fmt.Errorf("switchover to %s: waiting for %s: %w", target, final, err)
	}
	tok.Position = 0 // Promote replays everything received, which covers final.
	res, err := d.Promote(ctx, target, tok)
	if err != nil {
		return nil, fmt.Errorf("switchover to %s: %w", target, err)
	}
	loss := data.EstimateLoss(final, res.ReplayLSN)
	res.Loss = &loss
	for _, m := range d.cfg.Set.Spec.Members {
		if m.Name == target || m.Name == old {
			continue
		}
		if err := d.Rejoin(ctx, m.Name); err != nil {
			d.log.Warn("repoint after switchover", "member", m.Name, "err", err)
		}
	}
	if err := d.Rejoin(ctx, old); err != nil {
		d.log.Warn("old primary did not rejoin", "member", old, "err", err)
	}
	return res, nil
}
