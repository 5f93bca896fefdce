package runbook

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
)

// NeedsCount says whether r is a closed failover (or a person's promotion outside the
// daemons) whose RPO is not an exact count yet: its old primary was out of reach, so
// only positions seen earlier were known.
func NeedsCount(r *Record) bool {
	return (r.Kind == Failover || r.Kind == Promote) && r.Status == StatusDone && r.RPO != nil && !r.RPO.Counted
}

// CompleteRPO completes r's RPO from what the rewinds of former primaries discarded:
// the commits past the promoted member's position are exactly the ones the promotion
// did not carry. Several members may have WAL past the fork (the old primary, a
// standby that replayed from it); the old primary has the most. It reports whether r
// changed.
func CompleteRPO(r *Record, ds []data.Discard) bool {
	if !NeedsCount(r) {
		return false
	}
	var best *data.Discard
	for i := range ds {
		if ds[i].Fork == r.RPO.From && (best == nil || ds[i].Transactions > best.Transactions) {
			best = &ds[i]
		}
	}
	if best == nil {
		return false
	}
	r.RPO = &data.Loss{From: best.Fork, To: best.To, Bytes: best.Bytes, Transactions: best.Transactions, Counted: true,
		Method: fmt.Sprintf("counted in %s's WAL past the fork when it was rewound after its return (%s)", best.Member, best.At.UTC().Format("15:04:05"))}
	return true
}

// Amend rewrites a closed run in the ledger (its RPO completed), under token.
func Amend(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("amend run %s: %w", r.ID, err)
	}
	if err := coord.Guarded(ctx, c, token, clientv3.OpPut(coord.LedgerKey(r.App, r.ID), string(b))); err != nil {
		return fmt.Errorf("amend run %s: %w", r.ID, err)
	}
	return nil
}
