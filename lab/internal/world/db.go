package world

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/atomicfile"
	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/topology"
)

// databases runs the demo's mirror set: one PostgreSQL server per member, in the data
// directory the lab's fleet names. Roles after bootstrap are the data driver's business
// (hadron data ...); the lab only starts and stops processes.
type databases struct {
	cfg topology.Config
	dir Dir
	log *slog.Logger
	set v1alpha1.MirrorSet

	drv *postgres.Driver
	// pods runs the members that live in pods (lab.yaml memberPods); nil without.
	pods *memberPods

	mu      sync.Mutex
	stopped map[string]bool // members stopped by a site fault
}

func newDatabases(cfg topology.Config, dir Dir, log *slog.Logger) *databases {
	_, _, sets := cfg.Fleet(labPaths(dir))
	d := &databases{cfg: cfg, dir: dir, log: log, stopped: map[string]bool{}}
	if len(sets) == 1 {
		d.set = sets[0]
	}
	return d
}

// labPaths are where the lab keeps the files its fleet names. The mirror set's
// certificates come from the lab's CA, the one its control planes use.
func labPaths(d Dir) topology.Paths {
	return topology.Paths{Kubeconfig: d.Kubeconfig(), PasswordFile: d.PasswordFile(), PostgresDir: d.Postgres(),
		PostgresCerts: d.PostgresCerts(), CACert: filepath.Join(d.CA(), pki.CACert), TSIGFile: d.TSIGFile(),
		ObjectStoreDir: d.ObjectStore()}
}

// labCASubject is the subject of the lab's CA (when the databases create it first).
var labCASubject = pkix.Name{CommonName: "hadron-lab-ca", Organization: []string{"hadron lab"}}

// issueCertificates gives every member a server certificate from the lab's CA for
// every address it is dialled at: its own and the link listeners other regions use,
// so that clients verify it with verify-full from anywhere (pods of real nodes: their
// site's pod gateway). A certificate the CA already signed is kept.
func (d *databases) issueCertificates() error {
	ca, err := pki.LoadOrCreate(d.dir.CA(), labCASubject)
	if err != nil {
		return fmt.Errorf("mirror set certificates: %w", err)
	}
	for _, m := range d.set.Spec.Members {
		hosts := map[string]bool{}
		for _, a := range append([]string{m.Address.Address}, slices.Collect(maps.Values(m.Address.FromRegions))...) {
			if h, _, err := net.SplitHostPort(a); err == nil {
				hosts[h] = true
			}
		}
		// Pods of real nodes dial every member at their site's pod gateway.
		if d.cfg.RealNodes > 0 {
			for _, s := range d.cfg.Indexed() {
				if s.Workload() {
					hosts[s.PodGateway()] = true
				}
			}
		}
		req := pki.Request{CommonName: m.Name, Orgs: []string{"hadron lab"}, Hosts: slices.Sorted(maps.Keys(hosts)), Server: true}
		crt, _ := topology.MemberCert(d.dir.PostgresCerts(), m.Name)
		if err := ca.Issue(strings.TrimSuffix(crt, ".crt"), req); err != nil {
			return fmt.Errorf("certificate of %s: %w", m.Name, err)
		}
	}
	return nil
}

// password returns the mirror set's password, creating it on first use.
func (d *databases) password() (string, error) {
	if b, err := os.ReadFile(d.dir.PasswordFile()); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(buf)
	if err := os.MkdirAll(filepath.Dir(d.dir.PasswordFile()), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(d.dir.PasswordFile(), []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write password file: %w", err)
	}
	return pw, nil
}

// bootstrapped marks a mirror set whose bootstrap finished.
func (d *databases) bootstrapped() string { return filepath.Join(d.dir.Postgres(), "bootstrapped") }

func initialized(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	return err == nil
}

// bootstrap creates the mirror set on first start, or starts its members again.
func (d *databases) bootstrap(ctx context.Context) error {
	pw, err := d.password()
	if err != nil {
		return err
	}
	// A bootstrap that stopped half way (a clone timed out) left some members
	// initialised and others empty, and no marker: the set never held data, so it is
	// created again from nothing rather than started half made.
	fresh := true
	if _, err := os.Stat(d.bootstrapped()); err == nil {
		fresh = false
	} else {
		for _, m := range d.set.Spec.Members {
			if m.DataDir != "" && initialized(m.DataDir) {
				d.log.Warn("mirror set bootstrap did not finish last time: creating it again", "member", m.Name)
				if err := os.RemoveAll(m.DataDir); err != nil {
					return fmt.Errorf("mirror set %s: %w", d.set.Name, err)
				}
			}
		}
	}
	regions := map[string]string{}
	for _, s := range d.cfg.Sites {
		regions[s.Name] = s.Region
	}
	if err := d.issueCertificates(); err != nil {
		return err
	}
	// Paths in the lab's set are absolute; the fleet only gives them a directory.
	tls, err := postgres.TLSFromFleet(ctx, &fleet.Fleet{Dir: string(d.dir)}, &d.set)
	if err != nil {
		return fmt.Errorf("mirror set %s: %w", d.set.Name, err)
	}
	// With backups the driver gives every member it starts the archive_command, and
	// the bootstrap creates the stanza (the store runs before the set is made).
	backup, err := postgres.BackupFromFleet(ctx, &fleet.Fleet{Dir: string(d.dir)}, &d.set)
	if err != nil {
		return fmt.Errorf("mirror set %s: %w", d.set.Name, err)
	}
	cfg := postgres.Config{Set: &d.set, Regions: regions, Password: pw, Logger: d.log, TLS: tls, Backup: backup}
	if d.pods != nil {
		cfg.Pods = d.pods
	}
	drv, err := postgres.New(cfg)
	if err != nil {
		return err
	}
	d.drv = drv
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if fresh {
		// hadron's own data driver creates the set: initdb, base backups, slots,
		// synchronous_standby_names — exactly what `hadron data bootstrap` does.
		if err := drv.Bootstrap(ctx); err != nil {
			return fmt.Errorf("mirror set %s: %w", d.set.Name, err)
		}
		if err := os.WriteFile(d.bootstrapped(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return fmt.Errorf("mirror set %s: %w", d.set.Name, err)
		}
		return nil
	}
	for _, m := range d.set.Spec.Members {
		if m.DataDir == "" {
			continue // a pod: its StatefulSet starts it, its start step decides how
		}
		if err := drv.Resume(ctx, m.Name); err != nil {
			return fmt.Errorf("start member %s: %w", m.Name, err)
		}
	}
	return nil
}

// monitor runs automatic in-region failover (issue 5's local monitor) until ctx ends:
// when the primary dies its synchronous member is promoted, and members that come back
// rejoin. A DR member in another region is never promoted by it.
func (d *databases) monitor(ctx context.Context) {
	r := d.set.Spec.Replication
	sync := r != nil && r.Synchronous != nil && *r.Synchronous
	m := &monitor.Monitor{Driver: d.drv, Interval: time.Second, Config: monitor.Config{FailAfter: 3, Synchronous: sync}, Logger: d.log.With("component", "data-monitor")}
	_ = m.Run(ctx)
}

// dsn is how the demo application in site s reaches the mirror set: every member as
// seen from s's region, the read-write one chosen at connect time, over TLS checked
// against the lab's CA (verify-full). The password is in a passfile (env), never on a
// command line or in the environment.
func (d *databases) dsn(s topology.Site) string {
	var hosts []string
	for _, m := range d.set.Spec.Members {
		hosts = append(hosts, m.Address.From(s.Region))
	}
	u := url.URL{Scheme: "postgres", User: url.User(d.set.Spec.Credentials.User), Host: strings.Join(hosts, ","), Path: "/" + d.set.Spec.Database}
	q := url.Values{"target_session_attrs": {"read-write"}, "connect_timeout": {"2"},
		"sslmode": {"verify-full"}, "sslrootcert": {filepath.Join(d.dir.CA(), pki.CACert)}}
	u.RawQuery = q.Encode()
	return u.String()
}

// env points the demo application at a passfile (0600) holding the set's password.
func (d *databases) env() []string {
	pw, err := d.password()
	if err != nil {
		return nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	line := fmt.Sprintf("*:*:*:%s:%s\n", esc.Replace(d.set.Spec.Credentials.User), esc.Replace(pw))
	// Written whole at once: each site's demo starts with this and reads the file
	// while the next site's start writes it again (a truncated one cost east's demo
	// its password once).
	if err := atomicfile.Write(d.dir.DemoPassfile(), []byte(line), 0o600); err != nil {
		d.log.Warn("demo passfile", "err", err)
		return nil
	}
	return []string{"PGPASSFILE=" + d.dir.DemoPassfile()}
}

// stopSite stops the members of a site as a crash would (immediate shutdown).
func (d *databases) stopSite(ctx context.Context, site string) {
	for _, m := range d.set.Spec.Members {
		if m.Site != site || m.DataDir == "" {
			continue
		}
		if err := pgserver.Stop(ctx, m.DataDir, pgserver.StopImmediate); err != nil {
			d.log.Warn("stop member", "member", m.Name, "err", err)
		}
		d.mu.Lock()
		d.stopped[m.Name] = true
		d.mu.Unlock()
	}
}

// stopZone stops the members placed in zone as a crash would; startZone starts them
// again. A zone's loss takes its databases with it, not only its simulated nodes.
func (d *databases) stopZone(ctx context.Context, zone string) []string {
	var out []string
	for _, m := range d.set.Spec.Members {
		if m.Zone != zone || m.DataDir == "" {
			continue
		}
		if err := pgserver.Stop(ctx, m.DataDir, pgserver.StopImmediate); err != nil {
			d.log.Warn("stop member", "member", m.Name, "err", err)
		}
		d.mu.Lock()
		d.stopped[m.Name] = true
		d.mu.Unlock()
		out = append(out, m.Name)
	}
	return out
}

func (d *databases) startZone(ctx context.Context, zone string) error {
	return d.startWhere(ctx, func(m v1alpha1.Member) bool { return m.Zone == zone })
}

func (d *databases) isStopped(member string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped[member]
}

// startSite starts the members of a site again. A member that was primary before the
// fault comes back as a standby of whoever is primary now (rewound), so it never
// accepts writes on its old timeline.
func (d *databases) startSite(ctx context.Context, site string) error {
	return d.startWhere(ctx, func(m v1alpha1.Member) bool { return m.Site == site })
}

// startWhere resumes the members chosen, each rewound behind the primary of now when
// it was one before (Resume), and forgets that they were stopped.
func (d *databases) startWhere(ctx context.Context, chosen func(v1alpha1.Member) bool) error {
	var errs []error
	for _, m := range d.set.Spec.Members {
		if !chosen(m) || m.DataDir == "" {
			continue
		}
		if err := d.drv.Resume(ctx, m.Name); err != nil {
			errs = append(errs, fmt.Errorf("start member %s: %w", m.Name, err))
			continue
		}
		d.mu.Lock()
		delete(d.stopped, m.Name)
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (d *databases) status() []MemberStatus {
	var out []MemberStatus
	for _, m := range d.set.Spec.Members {
		running := false
		if m.DataDir != "" {
			_, running = pgserver.Running(m.DataDir)
		} else if d.pods != nil {
			running = d.pods.running(context.Background(), m.Name)
		}
		out = append(out, MemberStatus{Name: m.Name, Site: m.Site, Zone: m.Zone, Role: string(m.Role), Address: m.Address.Address, Running: running})
	}
	return out
}

// sweepPostgres stops every server under the lab's pg directory.
func sweepPostgres(ctx context.Context, d Dir) error {
	ents, err := os.ReadDir(d.Postgres())
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range ents {
		dir := filepath.Join(d.Postgres(), e.Name())
		if _, ok := pgserver.Running(dir); ok {
			if err := pgserver.Stop(ctx, dir, pgserver.StopFast); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", dir, err))
			}
		}
	}
	return errors.Join(errs...)
}
