package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hadron.dev/hadron/internal/data"
)

// A member keeps the highest fencing token that has acted on it in its own
// postgresql.auto.conf, as the custom setting hadron.fencing_token: durable (ALTER
// SYSTEM writes the file with a rename), readable on a stand-by, and the same for every
// process that reaches the member — a deposed leader in another daemon meets the token
// its successor left there. A clone or a rewind copies the file from the primary, so a
// member's token only ever rises.
//
// Every promote, fence and unfence compare-and-raises it under a session advisory lock
// that the action holds until it has acted: two deciders serialise on the member, and
// the later one with the lower token is refused by what the earlier one wrote.
const tokenSetting = "hadron.fencing_token"

// tokenLock is the advisory lock key of the compare-and-raise ("hadrfenc").
const tokenLock = 0x6861647266656e63

// guardStatements take the lock and read the stored token, in one round trip. The SET
// declares the placeholder so that ALTER SYSTEM accepts the custom name in this
// session; pg_file_settings reads the files afresh, so a reload not yet applied by
// this session cannot show an old value.
var guardStatements = []string{
	`set ` + tokenSetting + ` = '0'`,
	`select pg_advisory_lock(` + strconv.FormatInt(tokenLock, 10) + `)`,
	`select coalesce(max(setting::bigint), 0) from pg_file_settings
		where name = '` + tokenSetting + `' and sourcefile like '%/postgresql.auto.conf'`,
}

// tokenGuard is a held compare-and-raise on one member's session.
type tokenGuard struct {
	stored int64 // the member's token before this action
	token  int64 // the action's token
}

// raise is the setting that stores the action's token, or none when it raises nothing.
func (g tokenGuard) raise() []setting {
	if g.token <= g.stored {
		return nil
	}
	return []setting{{tokenSetting, strconv.FormatInt(g.token, 10)}}
}

// guard takes member's token lock on conn and checks token against the stored one
// (data.TokenAllows). On success the lock is held: the caller acts, then releases it
// with unlockSQL in its last round trip (or by closing the session). On any other
// error the session must be closed.
func guard(ctx context.Context, conn *pgx.Conn, member string, token int64, safe bool) (tokenGuard, error) {
	g := tokenGuard{token: token}
	out, err := pipelined(ctx, conn, guardStatements...)
	if err != nil {
		return g, fmt.Errorf("fencing token of %s: %w", member, err)
	}
	if g.stored, err = strconv.ParseInt(out[2], 10, 64); err != nil {
		return g, fmt.Errorf("fencing token of %s: %q: %w", member, out[2], err)
	}
	if err := data.TokenAllows(member, g.stored, token, safe); err != nil {
		_, _ = pipelined(ctx, conn, unlockSQL)
		return g, err
	}
	return g, nil
}

// guardedSession is session with the guard in place of the liveness ping: a kept
// session proves it is alive by running the guard, so the check costs no round trip
// of its own. A kept session that fails for any reason other than the server's answer
// is replaced by a new one, once. On error nothing is held.
func (d *Driver) guardedSession(ctx context.Context, member string, token int64, safe bool) (*pgx.Conn, func(bool), tokenGuard, error) {
	m := d.members[member]
	if c := d.takeIdle(member); c != nil {
		// Bounded as the ping was: a kept session on a silent link must not eat the
		// action's whole budget before a new one is tried.
		gctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
		g, err := guard(gctx, c, member, token, safe)
		cancel()
		if err == nil {
			return c, d.release(member, c), g, nil
		}
		c.Close(context.Background())
		var pe *pgconn.PgError
		if errors.As(err, &pe) || errors.Is(err, data.ErrStaleFencing) || ctx.Err() != nil {
			return nil, nil, g, err
		}
	}
	c, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return nil, nil, tokenGuard{}, err
	}
	g, err := guard(ctx, c, member, token, safe)
	if err != nil {
		c.Close(context.Background())
		return nil, nil, g, err
	}
	return c, d.release(member, c), g, nil
}

// unlockSQL releases the token lock; pipelined after an action's last statement.
var unlockSQL = `select pg_advisory_unlock(` + strconv.FormatInt(tokenLock, 10) + `)`

// FencingToken reads the highest fencing token member has stored (0: none).
func (d *Driver) FencingToken(ctx context.Context, member string) (int64, error) {
	m, err := d.member(member)
	if err != nil {
		return 0, err
	}
	var tok int64
	err = d.observeConn(ctx, m, func(c *pgx.Conn, _ bool) error {
		return c.QueryRow(ctx, guardStatements[2]).Scan(&tok)
	})
	if err != nil {
		return 0, fmt.Errorf("fencing token of %s: %w", member, err)
	}
	return tok, nil
}
