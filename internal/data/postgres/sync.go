package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

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

// updateSync sets the primary's synchronous_standby_names from the current status.
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
	if cur == want {
		return nil
	}
	d.log.Info("synchronous standbys", "member", primary, "from", cur, "to", want)
	return reconfigure(ctx, conn, setting{"synchronous_standby_names", want})
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
