package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
)

// RestoreTo writes a new data directory dir from the archive up to target, through
// local member from's configuration. The directory's server is not started.
func (d *Driver) RestoreTo(ctx context.Context, from, dir string, target pgbackrest.Target, timeout time.Duration) error {
	r, err := d.backupRunner(from)
	if err != nil {
		return err
	}
	info, err := r.Info(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, ok := info.Latest(); !ok {
		return fmt.Errorf("restore %s: %w", d.cfg.Set.Name, pgbackrest.ErrNoBackup)
	}
	return r.Restore(ctx, absDir(dir), target, timeout)
}

// LocalMember is a member of the set that hadron runs on this machine (a dataDir),
// whose pgBackRest configuration reads the repository.
func (d *Driver) LocalMember() (string, error) {
	for _, m := range d.cfg.Set.Spec.Members {
		if m.DataDir != "" {
			return m.Name, nil
		}
	}
	return "", fmt.Errorf("%s: %w: no member has a dataDir", d.cfg.Set.Name, data.ErrNotManaged)
}

// restoreMember chooses which member at site a restore rebuilds: one hadron runs (a
// dataDir), the configured primary before the failover member before a DR member,
// so a rebuilt set keeps its configured roles where it can.
func restoreMember(members []v1alpha1.Member, site string) (string, error) {
	rank := map[v1alpha1.MemberRole]int{v1alpha1.RolePrimary: 0, v1alpha1.RoleFailover: 1, v1alpha1.RoleDRAsync: 2}
	best, bestRank := "", 99
	var at []string
	for _, m := range members {
		if m.Site != site {
			continue
		}
		at = append(at, m.Name)
		if m.DataDir == "" {
			continue
		}
		r, ok := rank[m.Role]
		if !ok {
			r = len(rank)
		}
		if r < bestRank {
			best, bestRank = m.Name, r
		}
	}
	switch {
	case best != "":
		return best, nil
	case len(at) == 0:
		return "", fmt.Errorf("no member at site %q", site)
	}
	return "", fmt.Errorf("no member at site %s has a dataDir (%s): hadron restores only members it runs", site, strings.Join(at, ", "))
}

// RestoreAt rebuilds the set's primary at site from the archive: the member chosen
// by restoreMember, whose data directory must be empty or absent (a restore never
// overwrites a database), restored to target, started, and promoted at the end of
// recovery. It refuses while any member answers as primary: a restore rebuilds a set
// that lost every copy, it does not fork a running one. It returns the member.
func (d *Driver) RestoreAt(ctx context.Context, site string, target pgbackrest.Target, timeout time.Duration) (string, error) {
	name, err := restoreMember(d.cfg.Set.Spec.Members, site)
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", d.cfg.Set.Name, err)
	}
	m, _ := d.member(name)
	if initialized(m.DataDir) {
		return "", fmt.Errorf("restore %s: member %s's data directory %s holds a database: move it away first", d.cfg.Set.Name, name, m.DataDir)
	}
	if st, err := d.Status(ctx); err == nil && st.Primary != "" {
		return "", fmt.Errorf("restore %s: %s answers as primary: a restore rebuilds a set that lost every copy", d.cfg.Set.Name, st.Primary)
	}
	r, err := d.backupRunner(name)
	if err != nil {
		return "", err
	}
	if err := r.Install(); err != nil {
		return "", fmt.Errorf("restore %s: %w", d.cfg.Set.Name, err)
	}
	d.log.Info("restore", "member", name, "target", target.Time)
	if err := d.RestoreTo(ctx, name, m.DataDir, target, timeout); err != nil {
		return "", err
	}
	// The backup's settings name the stand-bys of the set it came from as
	// synchronous; the rebuilt primary has none yet and must not wait for them.
	if err := setAutoConf(m.DataDir, map[string]string{"synchronous_standby_names": ""}); err != nil {
		return "", fmt.Errorf("restore %s: %w", name, err)
	}
	if err := d.StartMember(ctx, name); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	if err := d.waitPromoted(ctx, m); err != nil {
		return "", err
	}
	if err := d.forgetRecovery(ctx, m); err != nil {
		return "", fmt.Errorf("restore %s: %w", name, err)
	}
	return name, nil
}

// recoverySettings are what pgBackRest's restore writes into postgresql.auto.conf to
// replay the archive to the target. They must go once the restored server is
// promoted: a stand-by cloned from it copies the file, and would stop at the same
// target and promote itself — a second primary on a new timeline.
var recoverySettings = []string{
	"restore_command", "recovery_target", "recovery_target_lsn", "recovery_target_name",
	"recovery_target_time", "recovery_target_xid", "recovery_target_inclusive", "recovery_target_action",
}

// forgetRecovery resets recoverySettings on the promoted member m.
func (d *Driver) forgetRecovery(ctx context.Context, m v1alpha1.Member) error {
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// ALTER SYSTEM refuses a transaction block, so one statement at a time.
	for _, k := range recoverySettings {
		if _, err := conn.Exec(ctx, "alter system reset "+k); err != nil {
			return fmt.Errorf("alter system reset %s: %w", k, err)
		}
	}
	_, err = conn.Exec(ctx, "select pg_reload_conf()")
	return err
}

// waitPromoted polls m until recovery ended and it accepts writes.
func (d *Driver) waitPromoted(ctx context.Context, m v1alpha1.Member) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := "not reached"
	for {
		if conn, err := d.connect(ctx, m, "postgres"); err != nil {
			last = err.Error()
		} else {
			var rec bool
			err = conn.QueryRow(ctx, `select pg_is_in_recovery()`).Scan(&rec)
			conn.Close(context.Background())
			switch {
			case err != nil:
				last = err.Error()
			case !rec:
				return nil
			default:
				last = "still replaying the archive"
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restore %s: waiting for the end of recovery: %w (%s)", m.Name, ctx.Err(), last)
		case <-t.C:
		}
	}
}
