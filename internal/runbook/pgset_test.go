package runbook_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/internal/testenv/netlink"
)

const pgPassword = "runbook-pw"

// pgSet is a real two-region mirror set on loopback: east-0 the primary, west-0 a DR
// member that streams from east-0 through a link the test can cut.
type pgSet struct {
	t    testing.TB
	set  *v1alpha1.MirrorSet
	drv  *postgres.Driver
	link stopLink
}

// stopLink is the link from west to east-0. The tests cut it with Stop and heal it with
// Start (a Link's Start listens again on the same address after a cut).
type stopLink struct{ *netlink.Link }

// Stop cuts the link: west's streams from east-0 break and new ones are refused.
func (l stopLink) Stop() { l.Cut() }

func newPGSet(t testing.TB) *pgSet {
	t.Helper()
	testenv.PostgresBin(t)
	ports := testenv.FreePorts(t, 4)
	root := t.TempDir()
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	member := func(name, site string, role v1alpha1.MemberRole, port, proxy int, from string) v1alpha1.Member {
		return v1alpha1.Member{Name: name, Site: site, Zone: "a", Role: role,
			Address: v1alpha1.Endpoint{Address: addr(port), FromRegions: map[string]string{from: addr(proxy)}},
			DataDir: filepath.Join(root, name)}
	}
	set := &v1alpha1.MirrorSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindMirrorSet},
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: v1alpha1.MirrorSetSpec{
			Engine: v1alpha1.EnginePostgres, Database: "shop",
			Members: []v1alpha1.Member{
				member("east-0", "east", v1alpha1.RolePrimary, 0, 2, "west"),
				member("west-0", "west", v1alpha1.RoleDRAsync, 1, 3, "east"),
			},
			Credentials: &v1alpha1.Credentials{User: "hadron", ReplicationUser: "replicator"},
		},
	}
	p := &pgSet{t: t, set: set}
	// west reaches east-0 (and east reaches west-0) only through these links.
	p.link = stopLink{netlink.New(addr(2), addr(0))}
	back := netlink.New(addr(3), addr(1))
	for _, l := range []*netlink.Link{p.link.Link, back} {
		if err := l.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range set.Spec.Members {
			_ = pgserver.Kill(context.Background(), m.DataDir)
		}
		p.link.Cut()
		back.Cut()
	})
	d, err := postgres.New(postgres.Config{Set: set, Regions: map[string]string{"east": "east", "west": "west"},
		Password: pgPassword, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p.drv = d
	return p
}

func (p *pgSet) bootstrap(ctx context.Context) {
	p.t.Helper()
	if err := p.drv.Bootstrap(ctx); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pgSet) member(name string) v1alpha1.Member {
	for _, m := range p.set.Spec.Members {
		if m.Name == name {
			return m
		}
	}
	p.t.Fatalf("no member %s", name)
	return v1alpha1.Member{}
}

// dsn reaches member directly as the superuser.
func (p *pgSet) dsn(member string) string {
	_, port, _ := strings.Cut(p.member(member).Address.Address, ":")
	return fmt.Sprintf("host=127.0.0.1 port=%s user=hadron password=%s dbname=shop sslmode=disable connect_timeout=3", port, pgPassword)
}

func (p *pgSet) exec(ctx context.Context, member string, stmts ...string) {
	p.t.Helper()
	c, err := pgx.Connect(ctx, p.dsn(member))
	if err != nil {
		p.t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			p.t.Fatal(err)
		}
	}
}

// insert commits from..to into seq, one transaction each, as an application does.
func (p *pgSet) insert(ctx context.Context, member string, from, to int64) {
	p.t.Helper()
	c, err := pgx.Connect(ctx, p.dsn(member))
	if err != nil {
		p.t.Fatal(err)
	}
	defer c.Close(ctx)
	for n := from; n <= to; n++ {
		if _, err := c.Exec(ctx, `insert into seq (n) values ($1)`, n); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *pgSet) count(ctx context.Context, member string) int64 {
	p.t.Helper()
	c, err := pgx.Connect(ctx, p.dsn(member))
	if err != nil {
		p.t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, `select count(*) from seq`).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// waitMember polls the driver's status until cond holds for member.
func (p *pgSet) waitMember(ctx context.Context, member, what string, cond func(data.MemberStatus) bool) {
	p.t.Helper()
	var last string
	for {
		st, err := p.drv.Status(ctx)
		if err == nil {
			if m := st.Member(member); m != nil {
				if cond(*m) {
					return
				}
				last = fmt.Sprintf("%+v", *m)
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("waiting for %s: %v (last: %s)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
