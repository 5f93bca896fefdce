package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"hadron.dev/hadron/internal/data"
)

// SyncStandbyNames is the synchronous_standby_names a primary in primaryRegion should
// have: the standbys of its own region that stream now, any one of which must confirm
// each commit (RPO 0 inside the region). Members of other regions stay asynchronous so
// that a slow or cut cross-region link never blocks commits. With no in-region standby
// streaming it is empty (asynchronous): a lone primary keeps accepting writes, and the
// monitor will not promote automatically, since no member is known to hold every commit.
func SyncStandbyNames(primary, primaryRegion string, members []data.MemberStatus, synchronous bool) string {
	if !synchronous {
		return ""
	}
	var names []string
	for _, m := range members {
		if m.Member == primary || m.Primary || m.Region != primaryRegion {
			continue
		}
		if m.State != data.StateStreaming && m.State != data.StateCatchingUp {
			continue
		}
		names = append(names, `"`+strings.ReplaceAll(m.Member, `"`, `""`)+`"`)
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return "ANY 1 (" + strings.Join(names, ", ") + ")"
}

func (d *Driver) synchronous() bool {
	r := d.cfg.Set.Spec.Replication
	return r == nil || r.Synchronous == nil || *r.Synchronous
}

// syncInForce bounds the wait for the primary's walsenders to apply a new
// synchronous_standby_names.
const syncInForce = 10 * time.Second

// updateSync sets the primary's synchronous_standby_names from the current status and
// returns once it is in force: the primary's pg_stat_replication lists exactly the
// wanted members as synchronous. A reload is applied by each walsender on its own
// time; until the new member is listed, commits do not wait for it and RPO 0 does not
// hold yet, so a caller that reports RPO 0 must not return before.
func (d *Driver) updateSync(ctx context.Context, primary string) error {
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("sync standbys: %w", err)
	}
	p := st.Member(primary)
	if p == nil || !p.Reachable {
		return fmt.Errorf("sync standbys: primary %s: %w", primary, data.ErrUnreachable)
	}
	want := SyncStandbyNames(primary, p.Region, st.Members, d.synchronous())
	conn, err := d.connect(ctx, d.members[primary], "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var cur string
	if err := conn.QueryRow(ctx, `select current_setting('synchronous_standby_names')`).Scan(&cur); err != nil {
		return err
	}
	if cur != want {
		d.log.Info("synchronous standbys", "member", primary, "from", cur, "to", want)
		if err := reconfigure(ctx, conn, setting{"synchronous_standby_names", want}); err != nil {
			return err
		}
	}
	wanted := syncNames(st.Members, want)
	var listed map[string]string
	err = pollUntil(ctx, syncInForce, func(ctx context.Context) (bool, error) {
		rows, err := conn.Query(ctx, `select application_name, coalesce(sync_state, '') from pg_stat_replication`)
		if err != nil {
			return false, err
		}
		listed = map[string]string{}
		for rows.Next() {
			var name, state string
			if err := rows.Scan(&name, &state); err != nil {
				return false, err
			}
			listed[name] = state
		}
		return syncApplied(wanted, listed), rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sync standbys of %s: %q not in force (pg_stat_replication: %v): %w", primary, want, listed, err)
	}
	return nil
}

// syncNames is the members that synchronous_standby_names want names.
func syncNames(members []data.MemberStatus, want string) map[string]bool {
	out := map[string]bool{}
	for _, m := range members {
		if want != "" && strings.Contains(want, `"`+strings.ReplaceAll(m.Member, `"`, `""`)+`"`) {
			out[m.Member] = true
		}
	}
	return out
}

// syncApplied says whether the primary's walsenders (application name → sync_state)
// list exactly the wanted members as synchronous ("sync" or "quorum").
func syncApplied(wanted map[string]bool, listed map[string]string) bool {
	for name, state := range listed {
		sync := state == "sync" || state == "quorum"
		if sync != wanted[name] {
			return false
		}
	}
	for name := range wanted {
		if _, ok := listed[name]; !ok {
			return false
		}
	}
	return true
}

// UpdateSync recomputes the primary's synchronous standbys (for the monitor, when the
// synchronous member stops streaming and commits would otherwise wait forever).
func (d *Driver) UpdateSync(ctx context.Context) error {
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if st.Primary == "" {
		return fmt.Errorf("sync standbys: %w", data.ErrNoPrimary)
	}
	return d.updateSync(ctx, st.Primary)
}
