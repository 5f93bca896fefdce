package postgres

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

// When a failover had to promote without the old primary (its region was gone), the
// loss is known only from positions seen earlier. The commits that were really lost are
// in the old primary's WAL past the fork of the new timeline — and a rewind discards
// exactly that WAL. So before rewinding a stopped former primary, the driver reads that
// WAL (pg_waldump), counts its commit records and records the count on the new primary
// (table hadron_discarded), where the daemons find it and complete the failover's RPO.

const discardedTable = `create table if not exists hadron_discarded (
	member text not null, timeline int not null, fork text not null, upto text not null,
	transactions bigint not null, bytes bigint not null, counted_at timestamptz not null default now(),
	primary key (member, timeline, fork))`

// discardedKeep is how long a count stays on the primary.
const discardedKeep = "90 days"

// countDiscarded counts the commits of stopped member m past the point where primary's
// timeline forked from m's, and records them on primary. Failing to count is logged,
// never fatal: the rewind must go on.
func (d *Driver) countDiscarded(ctx context.Context, m, primary v1alpha1.Member) {
	disc, err := d.discarded(ctx, m, primary)
	if err != nil {
		d.log.Warn("discarded WAL not counted", "member", m.Name, "err", err)
		return
	}
	if disc == nil {
		return
	}
	err = d.observeConn(ctx, primary, func(c *pgx.Conn, _ bool) error {
		if _, err := c.Exec(ctx, discardedTable); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `insert into hadron_discarded (member, timeline, fork, upto, transactions, bytes)
			values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
			disc.Member, disc.Timeline, disc.Fork.String(), disc.To.String(), disc.Transactions, disc.Bytes); err != nil {
			return err
		}
		// The leader completes a failover's RPO within seconds of the count; a count
		// older than discardedKeep has long been read into the ledger.
		_, err := c.Exec(ctx, `delete from hadron_discarded where counted_at < now() - $1::interval`, discardedKeep)
		return err
	})
	if err != nil {
		d.log.Warn("discarded WAL not recorded", "member", m.Name, "err", err)
		return
	}
	d.log.Info("counted the WAL a rewind discards", "member", m.Name, "fork", disc.Fork, "upto", disc.To, "transactions", disc.Transactions)
}

func (d *Driver) discarded(ctx context.Context, m, primary v1alpha1.Member) (*data.Discard, error) {
	tl, err := controlTimeline(ctx, m.DataDir)
	if err != nil {
		return nil, err
	}
	var forks map[uint32]data.LSN
	err = d.observeConn(ctx, primary, func(c *pgx.Conn, _ bool) error {
		var cur uint32
		if err := c.QueryRow(ctx, `select timeline_id from pg_control_checkpoint()`).Scan(&cur); err != nil {
			return err
		}
		forks, err = timelineForks(ctx, c, cur)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline history of %s: %w", primary.Name, err)
	}
	fork, ok := forks[uint32(tl)]
	if !ok {
		return nil, nil // same timeline, or not an ancestor: nothing diverged
	}
	out, _ := pgserver.Run(ctx, "pg_waldump", nil, "--path", m.DataDir+"/pg_wal", "--timeline", strconv.Itoa(tl),
		"--start", fork.String(), "--rmgr", "Transaction")
	// pg_waldump ends with an error at the end of valid WAL; its records are still good.
	n, last := countCommits(out)
	disc := &data.Discard{Member: m.Name, Timeline: tl, Fork: fork, To: max(last, fork), Transactions: n,
		At: time.Now()}
	disc.Bytes = int64(disc.To - disc.Fork)
	return disc, nil
}

var (
	walLSN    = regexp.MustCompile(`lsn: ([0-9A-Fa-f]+/[0-9A-Fa-f]+)`)
	walCommit = regexp.MustCompile(`desc: COMMIT(_PREPARED)? `)
)

// countCommits counts the commit records in pg_waldump's output and returns the
// position of the last record.
func countCommits(out []byte) (int64, data.LSN) {
	var n int64
	var last data.LSN
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := walLSN.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if lsn, err := data.ParseLSN(m[1]); err == nil && lsn > last {
			last = lsn
		}
		if walCommit.MatchString(line) {
			n++
		}
	}
	return n, last
}

// controlTimeline is the timeline of a stopped data directory's last checkpoint.
func controlTimeline(ctx context.Context, dir string) (int, error) {
	out, err := pgserver.Run(ctx, "pg_controldata", nil, dir)
	if err != nil {
		return 0, fmt.Errorf("pg_controldata %s: %w", dir, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Latest checkpoint's TimeLineID" {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("pg_controldata %s: no timeline", dir)
}

// Discarded lists what rewinds of former primaries discarded, as recorded on the
// current primary (newest first); see data.DiscardReader.
func (d *Driver) Discarded(ctx context.Context) ([]data.Discard, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.Primary == "" {
		return nil, fmt.Errorf("discarded WAL of %s: %w", d.cfg.Set.Name, data.ErrNoPrimary)
	}
	var out []data.Discard
	err = d.observeConn(ctx, d.members[st.Primary], func(c *pgx.Conn, _ bool) error {
		out = nil
		var exists bool
		if err := c.QueryRow(ctx, `select to_regclass('hadron_discarded') is not null`).Scan(&exists); err != nil || !exists {
			return err
		}
		rows, err := c.Query(ctx, `select member, timeline, fork, upto, transactions, bytes, counted_at
			from hadron_discarded order by counted_at desc limit 100`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var dd data.Discard
			var fork, upto string
			if err := rows.Scan(&dd.Member, &dd.Timeline, &fork, &upto, &dd.Transactions, &dd.Bytes, &dd.At); err != nil {
				return err
			}
			dd.Fork, _ = data.ParseLSN(fork)
			dd.To, _ = data.ParseLSN(upto)
			out = append(out, dd)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("discarded WAL of %s: %w", d.cfg.Set.Name, err)
	}
	return out, nil
}
