package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/pgserver"
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
}

func newLab(t testing.TB) *lab {
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
	l := &lab{t: t, set: set}
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
		Set:      l.set,
		Regions:  map[string]string{"east": "east", "west": "west"},
		Password: password,
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

// dsn reaches member from its own region as the superuser, in the set's database.
func (l *lab) dsn(member string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%s user=hadron password=%s dbname=orders sslmode=disable connect_timeout=3",
		strings.Split(l.member(member).Address.Address, ":")[1], quoteConn(testPassword))
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
