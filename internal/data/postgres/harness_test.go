package postgres

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/internal/testenv/netlink"
)

const testPassword = "pw-Sécret'1"

// lab is a three-member mirror set on loopback: east-0 (primary, zone a) and east-1
// (failover, zone b) in region east, west-0 (DR async) in region west. Every
// cross-region address is a link (netlink) with 35 ms of latency each way.
type lab struct {
	t       testing.TB
	set     *v1alpha1.MirrorSet
	drv     *Driver
	proxies []*netlink.Link
	// tls is the set's TLS, as a daemon reads it from the fleet; nil without TLS.
	tls *TLS
	// caFile is the CA that clients verify the members against ("" without TLS).
	caFile string
	// loss is the set's data-loss mode across regions (zero: async).
	loss v1alpha1.DataLoss
	// backup is the set's pgBackRest repository (backup_test.go); nil without.
	backup *BackupConfig
}

// labOptions change newLab's set.
type labOptions struct {
	// plain runs the set without TLS (sslmode disable), as hadron did before TLS: the
	// benchmarks' baseline.
	plain bool
	// loss is the set's data-loss mode across regions (zero: async).
	loss v1alpha1.DataLoss
	// backup makes the set archive to a repository built in the lab's directory.
	backup func(t testing.TB, root string) *BackupConfig
}

// newLab is the set with TLS on in mode verify-full: a CA (internal/pki) and a
// certificate per member for 127.0.0.1, named in spec.tls as a fleet file names them.
func newLab(t testing.TB) *lab { return newLabWith(t, labOptions{}) }

func newLabWith(t testing.TB, opts labOptions) *lab {
	t.Helper()
	testenv.PostgresBin(t)
	ports := testenv.FreePorts(t, 6)
	root := t.TempDir()
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	member := func(name, site, zone string, role v1alpha1.MemberRole, port, proxyPort int, fromRegion string) v1alpha1.Member {
		return v1alpha1.Member{
			Name: name, Site: site, Zone: zone, Role: role,
			Address: v1alpha1.Endpoint{Address: addr(port), FromRegions: map[string]string{fromRegion: addr(proxyPort)}},
			DataDir: filepath.Join(root, name),
		}
	}
	set := &v1alpha1.MirrorSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindMirrorSet},
		ObjectMeta: metav1.ObjectMeta{Name: "orders"},
		Spec: v1alpha1.MirrorSetSpec{
			Engine:   v1alpha1.EnginePostgres,
			Database: "orders",
			Members: []v1alpha1.Member{
				member("east-0", "east", "a", v1alpha1.RolePrimary, 0, 3, "west"),
				member("east-1", "east", "b", v1alpha1.RoleFailover, 1, 4, "west"),
				member("west-0", "west", "a", v1alpha1.RoleDRAsync, 2, 5, "east"),
			},
			Credentials: &v1alpha1.Credentials{User: "hadron", ReplicationUser: "replicator"},
		},
	}
	l := &lab{t: t, set: set, loss: opts.loss}
	if opts.backup != nil {
		l.backup = opts.backup(t, root)
	}
	if !opts.plain {
		l.issueCertificates(filepath.Join(root, "pki"))
	}
	for i, up := range []int{0, 1, 2} {
		p := netlink.New(addr(3+i), addr(up))
		p.SetLatency(35 * time.Millisecond) // each way: a 70 ms round trip between regions
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		l.proxies = append(l.proxies, p)
	}
	t.Cleanup(func() {
		for _, m := range set.Spec.Members {
			_ = pgserver.Kill(context.Background(), m.DataDir)
		}
		for _, p := range l.proxies {
			p.Cut()
		}
	})
	l.drv = l.driver(testPassword)
	return l
}

func (l *lab) driver(password string) *Driver {
	l.t.Helper()
	level := slog.LevelWarn
	if os.Getenv("HADRON_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	d, err := New(Config{
		TLS:      l.tls,
		Set:      l.set,
		Regions:  map[string]string{"east": "east", "west": "west"},
		Password: password,
		Loss:     l.loss,
		Backup:   l.backup,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return d
}

func (l *lab) member(name string) v1alpha1.Member { return l.drv.members[name] }

// cut stops the cross-region link in both directions; heal restores it.
func (l *lab) cut() {
	for _, p := range l.proxies {
		p.Cut()
	}
}

func (l *lab) heal() {
	l.t.Helper()
	for _, p := range l.proxies {
		if err := p.Heal(); err != nil {
			l.t.Fatal(err)
		}
	}
}

func (l *lab) bootstrap(ctx context.Context) {
	l.t.Helper()
	if err := l.drv.Bootstrap(ctx); err != nil {
		l.t.Fatal(err)
	}
}

// issueCertificates makes a CA in dir, a server certificate for every member (its
// addresses are all on 127.0.0.1), and the set's spec.tls naming those files.
func (l *lab) issueCertificates(dir string) {
	l.t.Helper()
	ca, err := pki.LoadOrCreate(dir, pkix.Name{CommonName: "hadron test db CA"})
	if err != nil {
		l.t.Fatal(err)
	}
	spec := &v1alpha1.TLS{Mode: v1alpha1.TLSVerifyFull, CA: &v1alpha1.SecretRef{File: filepath.Join(dir, pki.CACert)}}
	for _, m := range l.set.Spec.Members {
		base := filepath.Join(dir, m.Name)
		if err := ca.Issue(base, pki.Request{CommonName: m.Name, Hosts: []string{"127.0.0.1"}, Server: true}); err != nil {
			l.t.Fatal(err)
		}
		spec.Members = append(spec.Members, v1alpha1.MemberCertificate{Member: m.Name,
			Cert: &v1alpha1.SecretRef{File: base + ".crt"}, Key: &v1alpha1.SecretRef{File: base + ".key"}})
	}
	l.set.Spec.TLS = spec
	t, err := TLSFromFleet(context.Background(), &fleet.Fleet{Dir: dir}, l.set)
	if err != nil {
		l.t.Fatal(err)
	}
	l.tls, l.caFile = t, spec.CA.File
}

// sslDSN is the libpq TLS keywords of the lab's clients.
func (l *lab) sslDSN() string {
	if l.caFile == "" {
		return "sslmode=disable"
	}
	return "sslmode=verify-full sslrootcert=" + quoteConn(l.caFile)
}

// dsn reaches member from its own region as the superuser, in the set's database.
func (l *lab) dsn(member string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%s user=hadron password=%s dbname=orders connect_timeout=3 %s",
		strings.Split(l.member(member).Address.Address, ":")[1], quoteConn(testPassword), l.sslDSN())
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// failOverToEast1 is the in-region failover the archive tests run: once east-1 has
// everything east-0 wrote, east-0 dies and east-1 is promoted.
func (l *lab) failOverToEast1(ctx context.Context) *data.PromoteResult {
	l.t.Helper()
	waitFor(l.t, ctx, "east-1 caught up", func() (bool, string) {
		m := l.status(ctx).Member("east-1")
		return m.State == data.StateStreaming && m.LagBytes == 0, string(m.State)
	})
	if err := pgserver.Kill(ctx, l.member("east-0").DataDir); err != nil {
		l.t.Fatal(err)
	}
	e1 := l.status(ctx).Member("east-1")
	res, err := l.drv.Promote(ctx, "east-1", data.TokenFor(*e1, 0))
	if err != nil {
		l.t.Fatalf("promote east-1: %v", err)
	}
	return res
}
