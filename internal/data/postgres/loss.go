package postgres

import (
	"context"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/data"
)

// CountLoss counts, on the old primary, the transactions that committed in its WAL in
// [from, to): their commit records lie past the promoted member's replay position, so
// the promotion did not carry them. It reads the WAL with pg_walinspect (created at
// bootstrap), which needs the old primary reachable and fenced or stopped writing.
func (d *Driver) CountLoss(ctx context.Context, oldPrimary string, from, to data.LSN) (data.Loss, error) {
	loss := data.EstimateLoss(to, from)
	if to <= from {
		loss.Transactions, loss.Counted = 0, true
		return loss, nil
	}
	m, err := d.member(oldPrimary)
	if err != nil {
		return loss, err
	}
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return loss, fmt.Errorf("count loss on %s: %w", oldPrimary, err)
	}
	defer conn.Close(context.Background())
	var n int64
	var window float64
	// A commit record's description starts with its commit time.
	if err := conn.QueryRow(ctx, `select count(*), coalesce(extract(epoch from max(at) - min(at))::float8, 0) from (
		select substring(description from '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+[+-][0-9:]+')::timestamptz as at
		from pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
		where resource_manager = 'Transaction' and record_type in ('COMMIT', 'COMMIT_PREPARED')) c`,
		from.String(), to.String()).Scan(&n, &window); err != nil {
		return loss, fmt.Errorf("count loss on %s: %w", oldPrimary, err)
	}
	loss.Transactions, loss.Counted = n, true
	loss.Window = time.Duration(window * float64(time.Second)).Round(time.Millisecond)
	loss.Method = "pg_walinspect commit records on the old primary in [promoted replay, last primary flush)"
	return loss, nil
}
