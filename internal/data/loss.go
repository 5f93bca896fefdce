package data

import (
	"context"
	"time"
)

// Loss is the RPO of a promotion: what the old primary had committed that the promoted
// member did not carry.
//
// Bytes is exact: the old primary's last known flush position minus the promoted
// member's final replay position (To − From). Transactions is exact when Counted is
// true: the number of transaction commit records (COMMIT and COMMIT PREPARED) in the
// old primary's WAL in [From, To), read with pg_walinspect on the old primary (see
// LossCounter). A committed transaction is lost exactly when its commit record lies
// after the promoted member's replay position, so counting commit records counts
// lost transactions, including those of other clients and of autovacuum. When the
// old primary cannot be read, Transactions is -1 (unknown) and only Bytes is known;
// when no primary could be read at all, and no monitor remembered its position, Bytes
// is -1 too.
type Loss struct {
	From         LSN    `json:"from"`
	To           LSN    `json:"to"`
	Bytes        int64  `json:"bytes"`
	Transactions int64  `json:"transactions"`
	Counted      bool   `json:"counted"`
	Method       string `json:"method"`
	// Window is the time from the first lost commit to the last, from their commit
	// records, when they were counted on the old primary (0 otherwise, or for one).
	Window time.Duration `json:"window,omitempty"`
}

// None reports whether the promotion lost nothing.
func (l Loss) None() bool { return l.Bytes == 0 && (l.Transactions <= 0 || !l.Counted) }

// EstimateLoss is the loss known from positions alone.
func EstimateLoss(primaryFlush, promotedReplay LSN) Loss {
	return Loss{
		From:         promotedReplay,
		To:           primaryFlush,
		Bytes:        primaryFlush.Sub(promotedReplay),
		Transactions: -1,
		Method:       "positions: last known primary flush − promoted replay",
	}
}

// Discard is what a rewind of a former primary threw away: the commits it had past the
// point where the promoted member's timeline forked. A failover that promoted without
// the old primary knew its loss only from positions seen earlier; this is the count.
type Discard struct {
	Member       string    `json:"member"`
	Timeline     int       `json:"timeline"`
	Fork         LSN       `json:"fork"`
	To           LSN       `json:"to"`
	Transactions int64     `json:"transactions"`
	Bytes        int64     `json:"bytes"`
	At           time.Time `json:"at"`
}

// Unfencer is an optional capability: a fenced primary accepts writes again, refused
// when another primary took over meanwhile or when fencingToken is lower than the
// member's (see Driver.Fence).
type Unfencer interface {
	Unfence(ctx context.Context, member string, fencingToken int64) error
}

// TokenReader is an optional capability: the highest fencing token a member has
// stored, which an operator's forced action adopts to act outside the daemons.
type TokenReader interface {
	FencingToken(ctx context.Context, member string) (int64, error)
}

// DiscardReader is an optional capability: the rewinds' counts, newest first.
type DiscardReader interface {
	Discarded(ctx context.Context) ([]Discard, error)
}
