package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/retry"
)

// Fence makes member refuse writes; see data.Driver. Over SQL: check and raise the
// member's fencing token (token.go), ALTER SYSTEM SET default_transaction_read_only,
// reload, confirm a new session is read-only, then terminate every client session (so
// none keeps a read-write transaction or a session setting). Replication connections
// stay, so standbys can receive the last WAL. If that fails and the member runs
// locally, its server is stopped instead — but never for a stale token: the member
// refused a deposed leader, and stopping it would obey that leader anyway.
//
// The guarantee is against ordinary clients: a client that explicitly asks for a
// read-write transaction could still write, which is why a leader also moves traffic
// away before promoting.
func (d *Driver) Fence(ctx context.Context, member string, fencingToken int64) error {
	m, err := d.member(member)
	if err != nil {
		return err
	}
	err = d.fenceSQL(ctx, member, fencingToken)
	if err == nil {
		d.log.Info("fenced", "member", member, "how", "read-only")
		return nil
	}
	// A wrong password or a stale token is not a reason to stop a server: change nothing.
	if m.DataDir == "" || errors.Is(err, data.ErrAuth) || errors.Is(err, data.ErrStaleFencing) {
		return fmt.Errorf("fence %s: %w", member, err)
	}
	if _, running := pgserver.Running(m.DataDir); !running {
		d.log.Info("fenced", "member", member, "how", "not running")
		return nil
	}
	d.log.Warn("fence over SQL failed; stopping the server", "member", member, "err", err)
	if serr := pgserver.Stop(ctx, m.DataDir, pgserver.StopFast); serr != nil {
		if kerr := pgserver.Kill(ctx, m.DataDir); kerr != nil {
			return fmt.Errorf("fence %s: %v; stop: %v; kill: %w", member, err, serr, kerr)
		}
	}
	d.log.Info("fenced", "member", member, "how", "stopped")
	return nil
}

func (d *Driver) fenceSQL(ctx context.Context, member string, fencingToken int64) error {
	conn, done, g, err := d.guardedSession(ctx, member, fencingToken, true)
	if err != nil {
		return err
	}
	keep := false
	defer func() { done(keep) }()
	if err := reconfigure(ctx, conn, append(g.raise(), setting{"default_transaction_read_only", "on"})...); err != nil {
		return err
	}
	// The reload is asynchronous. The postmaster passes it on to its sessions only after
	// it has read the files itself, so once this session sees the setting, every new
	// session starts read-only: no new connection (several round trips to a member in
	// another region) is needed to confirm it.
	if err := pollUntil(ctx, 5*time.Second, func(ctx context.Context) (bool, error) {
		var ro string
		err := conn.QueryRow(ctx, `select current_setting('default_transaction_read_only')`).Scan(&ro)
		return ro == "on", err
	}); err != nil {
		return fmt.Errorf("fence %s: confirm read-only: %w", member, err)
	}
	_, err = pipelined(ctx, conn, `select pg_terminate_backend(pid) from pg_stat_activity
		where backend_type = 'client backend' and pid <> pg_backend_pid()`, unlockSQL)
	keep = err == nil
	return err
}

// pollUntil calls f every 50ms until it returns true, ctx ends or limit passes.
func pollUntil(ctx context.Context, limit time.Duration, f func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		ok, err := f(ctx)
		if ok && err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Unfence lets a fenced primary accept writes again; see data.Unfencer. It refuses a
// token lower than the member's, a member that is not a fenced primary, or one that
// another primary has overtaken (a higher timeline, or an unfenced primary elsewhere):
// that one would be a second writer. The token lock is held from the check to the act.
func (d *Driver) Unfence(ctx context.Context, member string, fencingToken int64) error {
	m, err := d.member(member)
	if err != nil {
		return err
	}
	conn, done, g, err := d.guardedSession(ctx, m.Name, fencingToken, false)
	if err != nil {
		return fmt.Errorf("unfence %s: %w", member, err)
	}
	keep := false
	defer func() { done(keep) }()
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("unfence %s: %w", member, err)
	}
	if err := unfenceAllowed(st, member); err != nil {
		return fmt.Errorf("unfence %s: %w", member, err)
	}
	if err := reconfigure(ctx, conn, append(g.raise(), setting{"default_transaction_read_only", ""})...); err != nil {
		return fmt.Errorf("unfence %s: %w", member, err)
	}
	if _, err := pipelined(ctx, conn, unlockSQL); err != nil {
		return fmt.Errorf("unfence %s: %w", member, err)
	}
	keep = true
	d.log.Info("unfenced", "member", member)
	return nil
}

// unfenceAllowed is Unfence's check on an observation of the set.
func unfenceAllowed(st *data.SetStatus, member string) error {
	me := st.Member(member)
	if me == nil || !me.Reachable || !me.Primary || me.State != data.StateFenced {
		return retry.Permanent("%w: not a reachable fenced primary", data.ErrNotFenced)
	}
	for _, o := range st.Members {
		if o.Member == member || !o.Reachable || !o.Primary {
			continue
		}
		if o.Timeline > me.Timeline || o.State != data.StateFenced {
			return retry.Permanent("%w: %s is primary (timeline %d, %s)", data.ErrOvertaken, o.Member, o.Timeline, o.State)
		}
	}
	return nil
}
