package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/pgserver"
)

var (
	// ErrNoBackups: the driver was built without a backup repository (Config.Backup).
	ErrNoBackups = errors.New("no backup repository")
	// ErrStandby: an action for the primary found a stand-by.
	ErrStandby = errors.New("member is a stand-by")
)

// BackupConfig is the set's backup repository and archiving policy.
type BackupConfig struct {
	Repo pgbackrest.Repo
	// ArchiveTimeout forces a segment switch on a server that wrote something and
	// archived nothing for this long: the archive interval of the set's RPO bound
	// when every copy is lost (default 60s).
	ArchiveTimeout time.Duration
}

// backupRunner is pgBackRest for the local member m: its stanza (one per set, named
// after it), and the libpq environment of the runs that log in to m's server.
func (d *Driver) backupRunner(name string) (*pgbackrest.Runner, error) {
	if d.cfg.Backup == nil {
		return nil, fmt.Errorf("%s: %w", d.cfg.Set.Name, ErrNoBackups)
	}
	m, err := d.member(name)
	if err != nil {
		return nil, err
	}
	if m.DataDir == "" {
		return nil, fmt.Errorf("backup on %s: %w", name, data.ErrNotManaged)
	}
	host, port, err := net.SplitHostPort(m.Address.Address)
	if err != nil {
		return nil, fmt.Errorf("%s: address %q: %w", name, m.Address.Address, err)
	}
	p, _ := strconv.Atoi(port)
	dir := absDir(m.DataDir)
	st := pgbackrest.Stanza{Name: d.cfg.Set.Name, DataDir: dir, Port: p, User: d.user(), Home: pgbackrest.HomeFor(dir)}
	env := []string{"PGHOST=" + host, "PGSSLMODE=" + string(d.cfg.TLS.mode()), "PGPASSFILE=" + backupPassfile(st), "PGCONNECT_TIMEOUT=5"}
	if d.cfg.TLS.verifies() {
		env = append(env, "PGSSLROOTCERT="+filepath.Join(pgserver.TLSDir(dir), pgserver.CAFile))
	}
	return &pgbackrest.Runner{Repo: d.cfg.Backup.Repo, Stanza: st, Env: env, Logger: d.log}, nil
}

// backupPassfile holds the superuser's password for pgBackRest's logins (backup and
// check call pg_backup_start and pg_switch_wal): in the member's pgBackRest home,
// 0600, read by the server's OS user only.
func backupPassfile(s pgbackrest.Stanza) string { return filepath.Join(s.Home, "pgpass") }

// installArchiving writes local member m's pgBackRest home and its archive settings
// before its server starts: archiving is on from the first segment, on every member.
func (d *Driver) installArchiving(name string) error {
	if d.cfg.Backup == nil {
		return nil
	}
	r, err := d.backupRunner(name)
	if err != nil {
		return err
	}
	if err := r.Install(); err != nil {
		return fmt.Errorf("archiving on %s: %w", name, err)
	}
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	line := fmt.Sprintf("*:*:*:%s:%s\n", esc.Replace(d.user()), esc.Replace(d.cfg.Password))
	pf := backupPassfile(r.Stanza)
	if err := os.WriteFile(pf, []byte(line), 0o600); err != nil {
		return fmt.Errorf("archiving on %s: %w", name, err)
	}
	if err := pgserver.Chown(pf); err != nil {
		return fmt.Errorf("archiving on %s: %w", name, err)
	}
	timeout := d.cfg.Backup.ArchiveTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	settings := pgbackrest.ServerSettings(r.Stanza, int(timeout/time.Second))
	if err := setAutoConf(r.Stanza.DataDir, settings); err != nil {
		return fmt.Errorf("archiving on %s: %w", name, err)
	}
	return nil
}

// createStanza creates the set's stanza in the repository through the local primary
// (idempotent), when the set has a repository.
func (d *Driver) createStanza(ctx context.Context, primary string) error {
	if d.cfg.Backup == nil {
		return nil
	}
	r, err := d.backupRunner(primary)
	if err != nil {
		return err
	}
	return r.StanzaCreate(ctx)
}

// currentPrimary is the set's primary as Status sees it, which must be local.
func (d *Driver) currentPrimary(ctx context.Context) (string, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return "", err
	}
	if st.Primary == "" {
		return "", fmt.Errorf("%s: %w", d.cfg.Set.Name, data.ErrNoPrimary)
	}
	return st.Primary, nil
}

// Backup takes a backup of typ from the current primary (creating the stanza the
// first time). It returns the repository's view afterwards.
func (d *Driver) Backup(ctx context.Context, typ pgbackrest.BackupType, timeout time.Duration) (*pgbackrest.StanzaInfo, error) {
	p, err := d.currentPrimary(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	r, err := d.backupRunner(p)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := r.StanzaCreate(ctx); err != nil {
		return nil, fmt.Errorf("backup from %s: %w", p, err)
	}
	d.log.Info("backup", "type", typ, "from", p)
	if err := r.Backup(ctx, typ, timeout); err != nil {
		return nil, fmt.Errorf("backup from %s: %w", p, err)
	}
	return r.Info(ctx)
}

// Backups is the repository's view of the set, read through member's configuration
// (any local member: they share the stanza).
func (d *Driver) Backups(ctx context.Context, member string) (*pgbackrest.StanzaInfo, error) {
	r, err := d.backupRunner(member)
	if err != nil {
		return nil, err
	}
	// The configuration is written when the member starts; a machine whose member is
	// down (the set lost) writes it here.
	if err := r.Install(); err != nil {
		return nil, err
	}
	return r.Info(ctx)
}

// CheckArchive has the current primary switch WAL and waits until the segment is in
// the archive.
func (d *Driver) CheckArchive(ctx context.Context) error {
	p, err := d.currentPrimary(ctx)
	if err != nil {
		return fmt.Errorf("archive check: %w", err)
	}
	r, err := d.backupRunner(p)
	if err != nil {
		return fmt.Errorf("archive check: %w", err)
	}
	if err := r.Check(ctx); err != nil {
		return fmt.Errorf("archive check on %s: %w", p, err)
	}
	return nil
}

// ArchiveStatus is the primary's archiver as pg_stat_archiver reports it.
type ArchiveStatus struct {
	Primary      string    `json:"primary"`
	Current      data.LSN  `json:"current"`
	LastArchived string    `json:"lastArchived,omitempty"`
	ArchivedAt   time.Time `json:"archivedAt,omitzero"`
	// Lag is the WAL written that is not in the archive yet, in bytes
	// (pgbackrest.ArchiveLag); Waiting the segments queued for archive_command.
	Lag     int64 `json:"lagBytes"`
	Waiting int   `json:"waitingSegments"`
	// Ready names the files waiting, oldest first.
	Ready       []string  `json:"ready,omitempty"`
	FailedCount int64     `json:"failedCount"`
	LastFailed  string    `json:"lastFailed,omitempty"`
	FailedAt    time.Time `json:"failedAt,omitzero"`
}

// ArchiveStatus reads the current primary's archiver.
func (d *Driver) ArchiveStatus(ctx context.Context) (*ArchiveStatus, error) {
	p, err := d.currentPrimary(ctx)
	if err != nil {
		return nil, fmt.Errorf("archive status: %w", err)
	}
	m, _ := d.member(p)
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return nil, fmt.Errorf("archive status: %w", err)
	}
	defer conn.Close(context.Background())
	var cur string
	var at, failedAt *time.Time
	st := &ArchiveStatus{Primary: p}
	if err := conn.QueryRow(ctx, `select pg_current_wal_lsn()::text, coalesce(last_archived_wal, ''), last_archived_time,
		failed_count, coalesce(last_failed_wal, ''), last_failed_time from pg_stat_archiver`).
		Scan(&cur, &st.LastArchived, &at, &st.FailedCount, &st.LastFailed, &failedAt); err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	if st.Current, err = data.ParseLSN(cur); err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	if at != nil {
		st.ArchivedAt = *at
	}
	if failedAt != nil {
		st.FailedAt = *failedAt
	}
	rows, err := conn.Query(ctx, `select name from pg_ls_archive_statusdir() where name like '%.ready' order by name`)
	if err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	ready, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("archive status of %s: %w", p, err)
	}
	st.Waiting = len(ready)
	for _, f := range ready {
		st.Ready = append(st.Ready, strings.TrimSuffix(f, ".ready"))
	}
	st.Lag = pgbackrest.ArchiveLag(st.Current, ready, pgbackrest.SegmentSize)
	return st, nil
}

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

// CatchUpArchive pushes into the archive the segments of the previous timeline that
// the promoted local member received as a stand-by (pgbackrest.CatchUpSegments): the
// ones its dead primary may not have archived. Pushing one the archive holds already
// is a no-op, so it is safe to run again. It returns the files pushed. Run it after a
// promotion and before the old primary's copies are given up; without it the archive
// has a gap as long as the old primary's archive lag when it died.
func (d *Driver) CatchUpArchive(ctx context.Context, member string) ([]string, error) {
	r, err := d.backupRunner(member)
	if err != nil {
		return nil, err
	}
	m, _ := d.member(member)
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return nil, fmt.Errorf("archive catch-up: %w", err)
	}
	var walfile string
	var standby bool
	err = conn.QueryRow(ctx, `select pg_is_in_recovery(), case when pg_is_in_recovery() then '' else pg_walfile_name(pg_current_wal_lsn()) end`).Scan(&standby, &walfile)
	conn.Close(context.Background())
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	if standby {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, ErrStandby)
	}
	tli, err := strconv.ParseUint(walfile[:8], 16, 32)
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: timeline of %q: %w", member, walfile, err)
	}
	if tli == 1 {
		return nil, nil // no earlier timeline: nothing was received as a stand-by
	}
	wal := filepath.Join(r.Stanza.DataDir, "pg_wal")
	hist, err := os.ReadFile(filepath.Join(wal, fmt.Sprintf("%08X.history", tli)))
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	switches, err := pgbackrest.ParseHistory(string(hist))
	if err != nil || len(switches) == 0 {
		return nil, fmt.Errorf("archive catch-up on %s: timeline %d's history: %v", member, tli, err)
	}
	entries, err := os.ReadDir(wal)
	if err != nil {
		return nil, fmt.Errorf("archive catch-up on %s: %w", member, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	var pushed []string
	for _, f := range pgbackrest.CatchUpSegments(names, switches[len(switches)-1], pgbackrest.SegmentSize) {
		if err := r.ArchivePush(ctx, filepath.Join(wal, f)); err != nil {
			return pushed, fmt.Errorf("archive catch-up on %s: %w", member, err)
		}
		pushed = append(pushed, f)
	}
	d.log.Info("archive catch-up", "member", member, "pushed", len(pushed))
	return pushed, nil
}
