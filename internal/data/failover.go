package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hadron.dev/hadron/internal/retry"
)

// LossError is returned when a promotion would lose data and was not forced; Loss is
// what it would lose (positions only: the exact count needs the promotion point).
// Loss.Bytes is -1 when no primary could be read, so the loss is unknown.
type LossError struct {
	Loss Loss
	// LastReplay is the commit time of the newest transaction the member replayed.
	LastReplay *time.Time
}

func (e *LossError) Error() string {
	if e.Loss.Bytes < 0 {
		s := fmt.Sprintf("%v: no primary is reachable, so the loss is unknown (member received WAL up to %s", ErrDataLoss, e.Loss.From)
		if e.LastReplay != nil {
			s += fmt.Sprintf("; its newest transaction committed at %s, %s ago", e.LastReplay.UTC().Format(time.RFC3339), time.Since(*e.LastReplay).Round(100*time.Millisecond))
		}
		return s + ")"
	}
	return fmt.Sprintf("%v: %d bytes of WAL (last primary flush %s, member at %s)", ErrDataLoss, e.Loss.Bytes, e.Loss.To, e.Loss.From)
}
func (e *LossError) Unwrap() error { return ErrDataLoss }

// FailoverOptions tune Failover.
type FailoverOptions struct {
	// Force accepts a promotion that loses data.
	Force bool
	// FencingToken is the deciding leader's token (0: a person).
	FencingToken int64
	// LastKnownFlush is the old primary's last flush position seen by a monitor, used
	// when the old primary cannot be reached now.
	LastKnownFlush LSN
	// CatchUp bounds the wait for the member to receive the fenced primary's last WAL
	// (default 5s); it matters only when the member still streams.
	CatchUp time.Duration
	Logger  *slog.Logger
}

// Failover promotes member by hand, in this order: measure what it would lose (old
// primary's flush − member's received position); refuse with a *LossError unless that
// is zero or opts.Force; fence the old primary when it is reachable (refusing to go on
// if fencing a reachable primary fails, which would leave two writers); let the member
// catch up for a moment; promote with a token for the member's own position; then
// count the exact loss on the old primary when the driver is a LossCounter. Other
// members are left alone: they rejoin with Driver.Rejoin once the new primary is
// reachable from them.
func Failover(ctx context.Context, d Driver, member string, opts FailoverOptions) (*PromoteResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CatchUp == 0 {
		opts.CatchUp = 5 * time.Second
	}
	st, err := d.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	m := st.Member(member)
	switch {
	case m == nil:
		return nil, fmt.Errorf("promote %s: %w", member, ErrUnknownMember)
	case !m.Reachable:
		return nil, fmt.Errorf("promote %s: %w: %s", member, ErrUnreachable, m.Error)
	case m.Primary && m.State != StateFenced:
		return nil, retry.Permanent("promote %s: %w", member, ErrAlreadyPrimary)
	}
	old := oldPrimary(st, member)
	last := lastFlush(st, opts.LastKnownFlush)
	unknown := old == "" && opts.LastKnownFlush == 0
	est := EstimateLoss(last, m.FlushLSN)
	if unknown {
		est = unknownLoss(m.FlushLSN)
	}
	if est.Bytes != 0 && !opts.Force {
		return nil, &LossError{Loss: est, LastReplay: m.LastReplay}
	}
	if old != "" {
		if err := d.Fence(ctx, old, opts.FencingToken); err != nil {
			return nil, fmt.Errorf("promote %s: fence old primary: %w", member, err)
		}
		log.Info("old primary fenced", "member", old)
		if st2, err := d.Status(ctx); err == nil {
			if o := st2.Member(old); o != nil && o.Reachable {
				last = o.FlushLSN
			}
			st = st2
		}
		waitCatchUp(ctx, d, member, last, opts.CatchUp)
	}
	st, err = d.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	m = st.Member(member)
	if m == nil || !m.Reachable {
		return nil, fmt.Errorf("promote %s: %w", member, ErrUnreachable)
	}
	res, err := d.Promote(ctx, member, TokenFor(*m, opts.FencingToken))
	if err != nil {
		return nil, err
	}
	loss := EstimateLoss(last, res.ReplayLSN)
	if unknown {
		loss = unknownLoss(res.ReplayLSN)
	}
	if lc, ok := d.(LossCounter); ok && old != "" {
		if counted, err := lc.CountLoss(ctx, old, res.ReplayLSN, last); err == nil {
			loss = counted
		} else {
			log.Warn("exact loss count failed; bytes only", "err", err)
		}
	}
	res.Loss = &loss
	return res, nil
}

// oldPrimary is the member accepting writes, or else a reachable fenced primary
// (fenced by an earlier attempt), other than member; "" when none can be read.
func oldPrimary(st *SetStatus, member string) string {
	if st.Primary != "" && st.Primary != member {
		return st.Primary
	}
	old, tli := "", uint32(0)
	for _, m := range st.Members {
		if m.Reachable && m.Primary && m.Member != member && m.Timeline >= tli {
			old, tli = m.Member, m.Timeline
		}
	}
	return old
}

func unknownLoss(from LSN) Loss {
	return Loss{From: from, Bytes: -1, Transactions: -1,
		Method: "unknown: no primary was reachable; bytes and transactions cannot be counted"}
}

// lastFlush is the newest primary position known: the reachable primary's flush, the
// monitor's memory, or the furthest any member received.
func lastFlush(st *SetStatus, known LSN) LSN {
	last := known
	for _, m := range st.Members {
		if m.Reachable && m.FlushLSN > last {
			last = m.FlushLSN
		}
	}
	return last
}

func waitCatchUp(ctx context.Context, d Driver, member string, target LSN, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := d.Status(ctx)
		if err == nil {
			if m := st.Member(member); m != nil && (m.FlushLSN >= target || m.State == StateDisconnected) {
				return
			}
		} else if errors.Is(err, context.DeadlineExceeded) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
