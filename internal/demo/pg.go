package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// Table is the demo's table. The unique (client, seq) index makes a retried write
// idempotent, so a client that lost an acknowledgement may write the same seq again.
const Table = "hadron_demo_writes"

var schema = []string{
	`CREATE TABLE IF NOT EXISTS ` + Table + ` (
		id         bigserial PRIMARY KEY,
		client     text        NOT NULL,
		seq        bigint      NOT NULL,
		site       text        NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now()
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS ` + Table + `_client_seq ON ` + Table + ` (client, seq)`,
}

// PGOptions tune the PostgreSQL store.
type PGOptions struct {
	// Timeout bounds every database call (default 3s).
	Timeout time.Duration
	// ConnectTimeout bounds each connection attempt when the DSN sets none (default 2s),
	// so that an unreachable member in a multi-host DSN does not stall the others.
	ConnectTimeout time.Duration
	// MaxConns is the pool size (default 8).
	MaxConns int32
}

// PG is the PostgreSQL store. Its DSN may list several hosts with
// target_session_attrs=read-write: every new connection then goes to the member that
// accepts writes, so after a failover the pool reconnects to the new primary. Broken
// connections are dropped by the pool; on errors that mean "wrong or gone member" the
// whole pool is reset so no connection to a demoted or fenced member survives.
type PG struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	timeout time.Duration
	ready   atomic.Bool
}

// OpenPG prepares a pool for dsn; it does not connect (see EnsureSchema). The password
// may come from the DSN or from PGPASSWORD.
func OpenPG(dsn string, opts PGOptions, log *slog.Logger) (*PG, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the DSN, password included: do not wrap them.
		return nil, errors.New("parse database DSN: invalid (check its syntax)")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else {
		cfg.MaxConns = 8
	}
	cfg.MinConns = 0
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.MaxConnIdleTime = 30 * time.Second
	// Idle connections are checked before use, so one that died with its server fails
	// here rather than in a client's request.
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool { return p.IdleDuration > 500*time.Millisecond }
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	return &PG{pool: pool, log: log, timeout: opts.Timeout}, nil
}

// Close closes the pool.
func (p *PG) Close() { p.pool.Close() }

// EnsureSchema creates the table (idempotently), retrying every second until it
// succeeds or ctx ends: at start the primary may not be reachable yet.
func (p *PG) EnsureSchema(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := p.createSchema(ctx)
		if err == nil {
			p.ready.Store(true)
			p.log.Info("schema ready", "table", Table)
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			p.log.Warn("creating schema failed; retrying", "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create schema: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func (p *PG) createSchema(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	for _, stmt := range schema {
		if _, err := p.pool.Exec(ctx, stmt); err != nil {
			p.afterError(err)
			return err
		}
	}
	return nil
}

// Write implements Store. The statement runs in its own implicit transaction, so the
// row is committed when the result arrives; a seq already present returns its row.
func (p *PG) Write(ctx context.Context, client string, seq int64, site string) (int64, string, bool, error) {
	if !p.ready.Load() {
		return 0, "", false, ErrSchemaNotReady
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		p.afterError(err)
		return 0, "", false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	db := remoteAddr(conn.Conn())
	// In one statement both parts see the same snapshot: the second part finds the row
	// only when it existed before, so exactly one row comes back.
	const q = `WITH ins AS (
		INSERT INTO ` + Table + ` (client, seq, site) VALUES ($1, $2, $3)
		ON CONFLICT (client, seq) DO NOTHING RETURNING id)
	SELECT id, false FROM ins
	UNION ALL
	SELECT id, true FROM ` + Table + ` WHERE client = $1 AND seq = $2`
	var id int64
	var dup bool
	if err := conn.QueryRow(ctx, q, client, seq, site).Scan(&id, &dup); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, db, false, ErrConflict
		}
		p.afterError(err)
		return 0, db, false, p.classify(err)
	}
	return id, db, dup, nil
}

// Read implements Store; islands of consecutive seqs become ranges in the database.
func (p *PG) Read(ctx context.Context, client string) ([]demoapi.Range, string, error) {
	if !p.ready.Load() {
		return nil, "", ErrSchemaNotReady
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		p.afterError(err)
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	db := remoteAddr(conn.Conn())
	const q = `SELECT min(seq), max(seq) FROM (
		SELECT seq, seq - row_number() OVER (ORDER BY seq) AS island
		FROM ` + Table + ` WHERE client = $1) s
	GROUP BY island ORDER BY 1`
	rows, err := conn.Query(ctx, q, client)
	if err != nil {
		p.afterError(err)
		return nil, db, p.classify(err)
	}
	out := []demoapi.Range{}
	var r demoapi.Range
	if _, err := pgx.ForEachRow(rows, []any{&r[0], &r[1]}, func() error {
		out = append(out, r)
		return nil
	}); err != nil {
		p.afterError(err)
		return nil, db, p.classify(err)
	}
	return out, db, nil
}

// Stats implements Store, in one read-only snapshot.
func (p *PG) Stats(ctx context.Context) (demoapi.Stats, error) {
	st := demoapi.Stats{Clients: map[string]demoapi.ClientStats{}}
	if !p.ready.Load() {
		return st, ErrSchemaNotReady
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		p.afterError(err)
		return st, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	st.DB = remoteAddr(conn.Conn())
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0),
			current_setting('default_transaction_read_only') = 'on' OR pg_is_in_recovery(), pg_is_in_recovery()`).
			Scan(&st.Server, &st.ReadOnly, &st.InRecovery); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0) FROM `+Table).Scan(&st.Rows, &st.MaxID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT client, count(*), max(seq) FROM `+Table+` GROUP BY client`)
		if err != nil {
			return err
		}
		var c string
		var cs demoapi.ClientStats
		_, err = pgx.ForEachRow(rows, []any{&c, &cs.Count, &cs.MaxSeq}, func() error {
			st.Clients[c] = cs
			return nil
		})
		return err
	})
	if err != nil {
		p.afterError(err)
		return st, p.classify(err)
	}
	return st, nil
}

// Ping implements Store: the member must answer within the deadline and accept writes.
func (p *PG) Ping(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		p.afterError(err)
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	db := remoteAddr(conn.Conn())
	var readOnly bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('transaction_read_only') = 'on' OR pg_is_in_recovery()`).Scan(&readOnly); err != nil {
		p.afterError(err)
		return db, p.classify(err)
	}
	if readOnly {
		p.pool.Reset()
		return db, fmt.Errorf("%s: %w", db, ErrReadOnly)
	}
	if !p.ready.Load() {
		return db, ErrSchemaNotReady
	}
	return db, nil
}

// afterError resets the pool when err means the connected member is gone, read-only
// or shutting down, so the next connection chooses the read-write member afresh. A
// missing table (a new, empty primary) makes the schema be created again.
func (p *PG) afterError(err error) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "42P01": // undefined_table
			if p.ready.CompareAndSwap(true, false) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					_ = p.EnsureSchema(ctx)
				}()
			}
		case pgErr.Code == "25006", // read_only_sql_transaction
			strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57"): // operator intervention: shutdown, crash
			p.pool.Reset()
		}
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	// Network errors and timeouts: the member may be gone or cut off.
	p.pool.Reset()
}

// classify maps a read-only refusal to ErrReadOnly; other errors pass through.
func (p *PG) classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "25006" {
		return fmt.Errorf("%w: %s", ErrReadOnly, pgErr.Message)
	}
	return err
}

// remoteAddr is the address a connection goes to (host:port).
func remoteAddr(c *pgx.Conn) string {
	if c == nil || c.PgConn() == nil || c.PgConn().Conn() == nil {
		return ""
	}
	addr := c.PgConn().Conn().RemoteAddr()
	if addr == nil {
		return ""
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.String()
	}
	return addr.String()
}
