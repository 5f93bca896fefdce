package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// LossError is returned when a promotion would lose data and was not forced; Loss is
// what it would lose (positions only: the exact count needs the promotion point).
type LossError struct{ Loss Loss }

func (e *LossError) Error() string {
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
		return nil, Permanent("promote %s: %w", member, ErrAlreadyPrimary)
	}
	old := st.Primary
	last := lastFlush(st, opts.LastKnownFlush)
	est := EstimateLoss(last, m.FlushLSN)
	if est.Bytes > 0 && !opts.Force {
		return nil, &LossError{Loss: est}
	}
	if old != "" {
		if err := d.Fence(ctx, old); err != nil {
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
