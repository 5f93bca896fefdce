package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
)

// Status is read often (every few seconds by the daemon, and by every runbook step's
// checks), and a new session to a member in another region costs several round trips
// and a SCRAM exchange — about half a second over a 35 ms link. The driver keeps a few
// idle sessions per member for observations and actions; a session that fails is dropped and the
// observation is made again on a fresh one, so a restarted member is never reported
// unreachable because of a stale session.

// idleMax is how long an idle session is kept.
const idleMax = 30 * time.Second

// idlePerMember is how many idle sessions are kept per member: the daemon's periodic
// observation, a runbook step's checks and its action overlap, and each one that
// finds no idle session pays for a new one.
const idlePerMember = 3

type idleConn struct {
	conn  *pgx.Conn
	since time.Time
}

// observeConn runs f on a session to m: the idle one when there is one, else a new
// one; retried once on a new session when the idle one fails.
//
// f learns whether the session was kept from earlier (reused): a kept session applies
// a configuration reload only when its signal arrives, so a reading that depends on
// the configuration may find it stale and return an error to be read again afresh.
func (d *Driver) observeConn(ctx context.Context, m v1alpha1.Member, f func(c *pgx.Conn, reused bool) error) error {
	if c := d.takeIdle(m.Name); c != nil {
		if err := f(c, true); err == nil {
			d.putIdle(m.Name, c)
			return nil
		}
		c.Close(context.Background())
	}
	c, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return err
	}
	if err := f(c, false); err != nil {
		c.Close(context.Background())
		return err
	}
	d.putIdle(m.Name, c)
	return nil
}

func (d *Driver) takeIdle(member string) *pgx.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		pool := d.idle[member]
		if len(pool) == 0 {
			return nil
		}
		// The most recently kept one: the likeliest to be alive and up to date.
		ic := pool[len(pool)-1]
		d.idle[member] = pool[:len(pool)-1]
		if time.Since(ic.since) > idleMax || ic.conn.IsClosed() {
			go ic.conn.Close(context.Background())
			continue
		}
		return ic.conn
	}
}

func (d *Driver) putIdle(member string, c *pgx.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.idle[member]) >= idlePerMember {
		go c.Close(context.Background())
		return
	}
	d.idle[member] = append(d.idle[member], idleConn{conn: c, since: time.Now()})
}

// Close ends the driver's idle sessions. The driver stays usable; it opens new ones.
func (d *Driver) Close() {
	d.mu.Lock()
	idle := d.idle
	d.idle = map[string][]idleConn{}
	d.mu.Unlock()
	for _, pool := range idle {
		for _, ic := range pool {
			ic.conn.Close(context.Background())
		}
	}
}

// session is a session to m for an action: the idle one when it still answers a ping
// (one round trip instead of a new session's several), else a new one. done(true) keeps
// it for the next caller; done(false) closes it. Unlike observeConn nothing is
// retried: an action that half happened must be looked at again, not repeated.
func (d *Driver) session(ctx context.Context, m v1alpha1.Member) (conn *pgx.Conn, done func(keep bool), err error) {
	if c := d.takeIdle(m.Name); c != nil {
		pctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
		err := c.Ping(pctx)
		cancel()
		if err == nil {
			return c, d.release(m.Name, c), nil
		}
		c.Close(context.Background())
	}
	c, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return nil, nil, err
	}
	return c, d.release(m.Name, c), nil
}

func (d *Driver) release(member string, c *pgx.Conn) func(bool) {
	return func(keep bool) {
		if keep && !c.IsClosed() {
			d.putIdle(member, c)
			return
		}
		c.Close(context.Background())
	}
}
