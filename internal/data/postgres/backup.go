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
		// pgBackRest reads the member's files: where they are not (a member on another
		// machine, or in a pod — whose own start step and archiving loop write its
		// configuration and take the scheduled backups), the run cannot be here.
		return nil, fmt.Errorf("backup on %s: %w (pgBackRest runs beside the member's files: on its machine, or in its pod for the scheduled backups)", name, data.ErrNotManaged)
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
	// pgBackRest runs on the member's machine: it reaches the store as m's region does.
	repo, err := d.cfg.Backup.Repo.For(d.region(m))
	if err != nil {
		return nil, fmt.Errorf("backup on %s: %w", name, err)
	}
	return &pgbackrest.Runner{Repo: repo, Stanza: st, Env: env, Logger: d.log}, nil
}

// repoRunner is pgBackRest for reading the set's repository from this machine, with
// no member's data directory here (its members run in pods): a configuration of its
// own in the temporary directory, the store reached as the driver's region does.
func (d *Driver) repoRunner() (*pgbackrest.Runner, error) {
	repo, err := d.cfg.Backup.Repo.For(d.cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("backups of %s: %w", d.cfg.Set.Name, err)
	}
	home := filepath.Join(os.TempDir(), "hadron-pgbackrest-"+d.cfg.Set.Name)
	return &pgbackrest.Runner{Repo: repo, Stanza: pgbackrest.Stanza{Name: d.cfg.Set.Name, Home: home}, Logger: d.log}, nil
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
	// A just-promoted server cannot be backed up before its first checkpoint
	// (ScheduledBackup says why).
	m, _ := d.member(p)
	if err := d.checkpoint(ctx, m); err != nil {
		return nil, fmt.Errorf("backup from %s: %w", p, err)
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
// (any local member: they share the stanza), or through this machine's own when
// member's files are elsewhere (a member in a pod).
func (d *Driver) Backups(ctx context.Context, member string) (*pgbackrest.StanzaInfo, error) {
	r, err := d.backupRunner(member)
	if errors.Is(err, data.ErrNotManaged) {
		r, err = d.repoRunner()
	}
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
