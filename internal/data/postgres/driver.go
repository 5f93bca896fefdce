// Package postgres is the PostgreSQL 15 data driver: it bootstraps, observes, fences,
// promotes and rejoins the members of a mirror set over SQL (pgx), and for members
// with a local data directory it runs their servers through internal/pgserver
// (initdb, pg_basebackup, pg_rewind).
package postgres

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// Config is what the driver needs besides the mirror set itself.
type Config struct {
	Set *v1alpha1.MirrorSet
	// Regions maps each site name to its region; a member's region decides which
	// address of another member it uses (Endpoint.From).
	Regions map[string]string
	// Password logs in Set.Spec.Credentials.User; the replication role's password is
	// derived from it (replicationPassword).
	Password string
	// TLS encrypts and verifies every connection to a member; nil is mode disable.
	TLS *TLS
	// Region is where this process runs; it picks the addresses the driver itself dials
	// (Endpoint.From). Empty means every member's own Address (an operator who reaches
	// all regions directly, as in the lab).
	Region string
	Logger *slog.Logger
	// ConnectTimeout bounds each connection attempt (default 3s).
	ConnectTimeout time.Duration
	// Loss is the data-loss mode across regions the set's applications chose
	// (fleet.DataLoss); the zero value is async.
	Loss v1alpha1.DataLoss
	// Backup is the set's pgBackRest repository; nil runs the set without WAL
	// archiving or backups (backup.go).
	Backup *BackupConfig
	// Pods runs the members that have no dataDir in pods, one StatefulSet each
	// (pods.go): what must happen on their files (clone, rewind) is asked of the
	// member's pod. nil: such members are run by someone else, and a rejoin that needs
	// their files fails with data.ErrNotManaged.
	Pods MemberPods
	// AllowCIDRs are the client networks every member's pg_hba.conf lets in (default
	// loopback only): members in pods are reached from their node's pod network.
	AllowCIDRs []string
}

// Driver implements data.Driver, data.Switchover and data.LossCounter for PostgreSQL.
type Driver struct {
	cfg     Config
	log     *slog.Logger
	members map[string]v1alpha1.Member
	// roots verify members' certificates (verify-ca, verify-full).
	roots *x509.CertPool

	mu sync.Mutex
	// caughtUp is when each member was last seen with no lag: the age of its lag when
	// it has not replayed a transaction since it started (long-lived drivers only).
	caughtUp map[string]time.Time
	// timelines is the newest timeline each stand-by was seen receiving
	// (standbyTimeline).
	timelines map[string]seenTimeline
	// idle is one kept session per member for observations (idle.go).
	idle map[string][]idleConn
	// archived is the timeline of each member whose archive catch-up is done
	// (catchUpTimeline).
	archived map[string]uint64
}

var (
	_ data.Driver      = (*Driver)(nil)
	_ data.Switchover  = (*Driver)(nil)
	_ data.LossCounter = (*Driver)(nil)
)

// New checks cfg and returns a driver. It does not connect.
func New(cfg Config) (*Driver, error) {
	if cfg.Set == nil {
		return nil, errors.New("postgres driver: no mirror set")
	}
	if cfg.Set.Spec.Credentials == nil || cfg.Set.Spec.Credentials.User == "" {
		return nil, fmt.Errorf("mirror set %s: credentials.user is required", cfg.Set.Name)
	}
	if cfg.Password == "" {
		return nil, fmt.Errorf("mirror set %s: %w", cfg.Set.Name, data.ErrPasswordMissing)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 3 * time.Second
	}
	if cfg.Loss.EffectiveMode() == v1alpha1.DataLossBounded && (cfg.Loss.Bound == nil || cfg.Loss.Bound.Duration <= 0) {
		return nil, fmt.Errorf("mirror set %s: data-loss mode bounded needs a positive bound", cfg.Set.Name)
	}
	if cfg.Backup != nil {
		if err := cfg.Backup.Repo.Validate("spec.backup.repository"); err != nil {
			return nil, fmt.Errorf("mirror set %s: %w", cfg.Set.Name, err)
		}
	}
	roots, err := cfg.TLS.check()
	if err != nil {
		return nil, fmt.Errorf("mirror set %s: %w", cfg.Set.Name, err)
	}
	d := &Driver{cfg: cfg, roots: roots, log: cfg.Logger.With("component", "data/postgres", "set", cfg.Set.Name), members: map[string]v1alpha1.Member{}, caughtUp: map[string]time.Time{}, timelines: map[string]seenTimeline{}, idle: map[string][]idleConn{}}
	for _, m := range cfg.Set.Spec.Members {
		d.members[m.Name] = m
	}
	return d, nil
}

// Set is the mirror set the driver operates.
func (d *Driver) Set() *v1alpha1.MirrorSet { return d.cfg.Set }

func (d *Driver) member(name string) (v1alpha1.Member, error) {
	m, ok := d.members[name]
	if !ok {
		return m, fmt.Errorf("%s: %w in mirror set %s", name, data.ErrUnknownMember, d.cfg.Set.Name)
	}
	return m, nil
}

func (d *Driver) region(m v1alpha1.Member) string { return d.cfg.Regions[m.Site] }

func (d *Driver) user() string { return d.cfg.Set.Spec.Credentials.User }

// replUser is the role of replication, pg_basebackup and pg_rewind: never the
// superuser (the fleet's validation refuses that, and a set built in code without one
// gets the default).
func (d *Driver) replUser() string {
	if u := d.cfg.Set.Spec.Credentials.ReplicationUser; u != "" && u != d.user() {
		return u
	}
	return v1alpha1.DefaultReplicationUser
}

func (d *Driver) database() string {
	if db := d.cfg.Set.Spec.Database; db != "" {
		return db
	}
	return "postgres"
}

// addrFrom is m's address as seen from region.
func addrFrom(m v1alpha1.Member, region string) string { return m.Address.From(region) }

// connect opens a session to m as the superuser, from the driver's own region.
func (d *Driver) connect(ctx context.Context, m v1alpha1.Member, db string) (*pgx.Conn, error) {
	host, port, err := net.SplitHostPort(addrFrom(m, d.cfg.Region))
	if err != nil {
		return nil, retry.Permanent("%s: address %q: %w", m.Name, addrFrom(m, d.cfg.Region), err)
	}
	p, _ := strconv.Atoi(port)
	// TLS comes from the set's mode below (clientTLS), not from a connection string.
	cc, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cc.Host, cc.Port, cc.User, cc.Password, cc.Database = host, uint16(p), d.user(), d.cfg.Password, db
	cc.ConnectTimeout = d.cfg.ConnectTimeout
	cc.TLSConfig = clientTLS(d.cfg.TLS.mode(), d.roots, host)
	cc.Fallbacks = nil
	cc.RuntimeParams["application_name"] = "hadron"
	cctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cc)
	if err != nil {
		return nil, classify(m.Name, err)
	}
	return conn, nil
}

// classify turns a connection error into the package's sentinels and error types.
// The password never appears in pgx's errors.
func classify(member string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return retry.Permanent("%s: %w: %s", member, data.ErrAuth, pe.Message)
		case "57P03": // cannot_connect_now: starting up or shutting down
			return retry.Retryable("%s: %w: %s", member, data.ErrUnreachable, pe.Message)
		}
		return fmt.Errorf("%s: %w", member, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return retry.Retryable("%s: %w: %v", member, data.ErrUnreachable, trimConnErr(err))
}

// trimConnErr keeps the useful tail of pgconn's long connect errors.
func trimConnErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "): "); i >= 0 {
		return s[i+3:]
	}
	return s
}

// conninfo is the libpq connection string for a client beside the data directory
// dataDir (a WAL receiver, pg_basebackup, pg_rewind) reaching to from region as user.
// It never holds the password: the client reads it from the passfile beside dataDir
// (writePassfile), so it shows in no statement, configuration file or environment.
func (d *Driver) conninfo(to v1alpha1.Member, region, user, appName, dataDir string) string {
	host, port, _ := net.SplitHostPort(addrFrom(to, region))
	parts := []string{
		"host=" + quoteConn(host), "port=" + port, "user=" + quoteConn(user),
		"dbname=postgres", "passfile=" + quoteConn(passfile(dataDir)),
		"connect_timeout=5", "keepalives_idle=5", "keepalives_interval=2", "keepalives_count=3",
	}
	parts = append(parts, d.sslParams(dataDir)...)
	if appName != "" {
		parts = append(parts, "application_name="+quoteConn(appName))
	}
	return strings.Join(parts, " ")
}

func quoteConn(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// slotName is member's replication slot: slot names allow [a-z0-9_] only.
func slotName(member string) string {
	var b strings.Builder
	b.WriteString("hadron_")
	for _, r := range strings.ToLower(member) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
