package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

// Bootstrap creates the mirror set on this machine for the members with a dataDir:
// initdb of the primary, a replication slot per member, pg_basebackup of the others
// (each through the primary's address as seen from its own region, so a DR member
// clones and streams through the cross-region link), application_name = member name,
// and synchronous_standby_names naming the in-region failover member. Members already
// initialized are only started, so Bootstrap is safe to run again. A primary in a pod
// (Config.Pods) made its own data directory; Bootstrap names it primary for the pods
// and prepares it over SQL, and the pods of the other members clone it themselves
// (PrepareInPod). It returns when every standby streams, or when ctx ends.
func (d *Driver) Bootstrap(ctx context.Context) error {
	primary, ok := d.configuredPrimary()
	if !ok {
		return fmt.Errorf("bootstrap %s: no member with role primary", d.cfg.Set.Name)
	}
	switch {
	case d.inPod(primary):
		if err := d.bootstrapPodPrimary(ctx, primary); err != nil {
			return fmt.Errorf("bootstrap %s: %w", primary.Name, err)
		}
	case primary.DataDir == "":
		return fmt.Errorf("bootstrap %s: primary %s: %w", d.cfg.Set.Name, primary.Name, data.ErrNotManaged)
	default:
		if err := d.bootstrapLocalPrimary(ctx, primary); err != nil {
			return err
		}
	}
	for _, m := range d.cfg.Set.Spec.Members {
		if m.Name == primary.Name || m.DataDir == "" {
			continue
		}
		if !initialized(m.DataDir) {
			if err := d.clone(ctx, m, primary); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		}
		if err := d.StartMember(ctx, m.Name); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	if err := d.waitStreaming(ctx, nil); err != nil {
		return fmt.Errorf("bootstrap %s: %w", d.cfg.Set.Name, err)
	}
	return d.updateSync(ctx, primary.Name)
}

// bootstrapLocalPrimary makes and starts a primary hadron runs on this machine.
func (d *Driver) bootstrapLocalPrimary(ctx context.Context, primary v1alpha1.Member) error {
	if !initialized(primary.DataDir) {
		d.log.Info("initdb", "member", primary.Name, "dir", primary.DataDir)
		if err := pgserver.Init(ctx, primary.DataDir, pgserver.InitOptions{Superuser: d.user(), Password: d.cfg.Password, Access: d.access()}); err != nil {
			return fmt.Errorf("bootstrap %s: %w", primary.Name, err)
		}
	}
	if err := d.StartMember(ctx, primary.Name); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := d.preparePrimary(ctx, primary); err != nil {
		return fmt.Errorf("bootstrap %s: %w", primary.Name, err)
	}
	// The stanza first: until it exists the primary's archive_command fails and its
	// segments wait.
	if err := d.createStanza(ctx, primary.Name); err != nil {
		return fmt.Errorf("bootstrap %s: %w", primary.Name, err)
	}
	return nil
}

// markerTable holds Verify's markers, in the postgres database of every member.
const markerTable = `create table if not exists hadron_marker (id text primary key, written_at timestamptz not null default clock_timestamp())`

func (d *Driver) configuredPrimary() (v1alpha1.Member, bool) {
	for _, m := range d.cfg.Set.Spec.Members {
		if m.Role == v1alpha1.RolePrimary {
			return m, true
		}
	}
	return v1alpha1.Member{}, false
}

// StartMember starts a local member's server on its address and waits until it
// accepts connections.
func (d *Driver) StartMember(ctx context.Context, name string) error {
	m, err := d.member(name)
	if err != nil {
		return err
	}
	if m.DataDir == "" {
		return fmt.Errorf("start %s: %w", name, data.ErrNotManaged)
	}
	// The passfile is read at every connection attempt, so a running standby picks a
	// new one up too.
	if err := d.writePassfile(m.DataDir); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if _, running := pgserver.Running(m.DataDir); !running {
		// Written at every start: pg_basebackup and pg_rewind copy pg_hba.conf from
		// another member, and a set that turns TLS on gets it at its next start.
		if err := d.installTLS(ctx, m, m.DataDir, true); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		if err := pgserver.WriteAccess(m.DataDir, d.access()); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		// Also at every start: a clone's settings name its source's pgBackRest home.
		if err := d.installArchiving(name); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	if err := pgserver.Start(ctx, m.DataDir, m.Address.Address); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}

// access is every member's pg_hba.conf: only the replication role replicates, and
// with TLS on nobody gets in without it.
func (d *Driver) access() pgserver.Access {
	return pgserver.Access{RequireTLS: d.cfg.TLS.on(), ReplicationUser: d.replUser(), AllowCIDRs: d.cfg.AllowCIDRs}
}

// StopMember stops a local member's server.
func (d *Driver) StopMember(ctx context.Context, name string, mode pgserver.StopMode) error {
	m, err := d.member(name)
	if err != nil {
		return err
	}
	if m.DataDir == "" {
		return fmt.Errorf("stop %s: %w", name, data.ErrNotManaged)
	}
	return pgserver.Stop(ctx, m.DataDir, mode)
}

// preparePrimary creates (or resets) the replication role, the database, hadron's marker table,
// pg_walinspect (for exact loss counting) and one replication slot per other member.
// Every statement is idempotent.
func (d *Driver) preparePrimary(ctx context.Context, p v1alpha1.Member) error {
	conn, err := d.connect(ctx, p, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := d.prepareRoles(ctx, conn); err != nil {
		return err
	}
	if db := d.database(); db != "postgres" {
		var exists bool
		if err := conn.QueryRow(ctx, `select exists(select 1 from pg_database where datname=$1)`, db).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := conn.Exec(ctx, "create database "+pgx.Identifier{db}.Sanitize()); err != nil {
				return fmt.Errorf("create database %s: %w", db, err)
			}
		}
	}
	for _, q := range []string{
		`create extension if not exists pg_walinspect`,
		markerTable,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return d.ensureSlots(ctx, conn, p.Name)
}

// ensureSlots creates a physical replication slot on the primary for every other
// member and drops the primary's own (a promoted standby has none of the others').
func (d *Driver) ensureSlots(ctx context.Context, conn *pgx.Conn, primary string) error {
	_, err := pipelined(ctx, conn, d.slotStatements(primary)...)
	return err
}

// slotStatements keep a physical replication slot on primary for every other member
// and drop an idle one of primary's own (left from when it was a stand-by).
func (d *Driver) slotStatements(primary string) []string {
	var out []string
	for _, m := range d.cfg.Set.Spec.Members {
		slot := quoteLiteral(slotName(m.Name))
		if m.Name == primary {
			out = append(out, `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = `+slot+` and not active`)
			continue
		}
		out = append(out, `select pg_create_physical_replication_slot(`+slot+`, true)
			where not exists (select 1 from pg_replication_slots where slot_name = `+slot+`)`)
	}
	return out
}

// clone makes m a fresh copy of primary with pg_basebackup, configured to stream.
// m.DataDir may be a temporary directory (reclone): the passfile and CA are those
// beside the member's own directory, where its configuration points.
func (d *Driver) clone(ctx context.Context, m, primary v1alpha1.Member) error {
	if err := pgserver.PrepareDir(m.DataDir); err != nil {
		return err
	}
	home := d.members[m.Name].DataDir
	if err := d.writePassfile(home); err != nil {
		return fmt.Errorf("clone %s: %w", m.Name, err)
	}
	if err := d.installTLS(ctx, m, home, false); err != nil {
		return fmt.Errorf("clone %s: %w", m.Name, err)
	}
	d.log.Info("pg_basebackup", "member", m.Name, "from", primary.Name, "via", addrFrom(primary, d.region(m)))
	ci := d.conninfo(primary, d.region(m), d.replUser(), m.Name, home)
	if _, err := pgserver.Run(ctx, "pg_basebackup", toolEnv(home), "-D", m.DataDir, "-d", ci,
		"-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		return fmt.Errorf("clone %s from %s: %w", m.Name, primary.Name, err)
	}
	if err := setAutoConf(m.DataDir, d.standbySettings(m.Name, primary.Name, home)); err != nil {
		return fmt.Errorf("clone %s: %w", m.Name, err)
	}
	return touch(m.DataDir, "standby.signal")
}

// errDiverged: a standby replayed past the fork of the primary's timeline.
var errDiverged = errors.New("diverged from the primary's timeline")

// waitStreaming polls until every standby (or the named ones) streams from the primary
// on its timeline. A diverged standby never will: it fails at once with errDiverged.
func (d *Driver) waitStreaming(ctx context.Context, only []string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		st, err := d.Status(ctx)
		if err == nil {
			last = ""
			for _, m := range st.Members {
				if m.Primary || (only != nil && !contains(only, m.Member)) {
					continue
				}
				if m.State == data.StateDiverged {
					return fmt.Errorf("%s: %w", m.Member, errDiverged)
				}
				p := st.Member(st.Primary)
				if m.State != data.StateStreaming || p == nil || m.Timeline != p.Timeline {
					last = fmt.Sprintf("%s is %s", m.Member, m.State)
					if m.Error != "" {
						last += ": " + m.Error
					}
				}
			}
			if last == "" {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for standbys to stream: %w (%s)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
