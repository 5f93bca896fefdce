package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
)

func TestSelfFenceHolds(t *testing.T) {
	st := &data.SetStatus{Members: []data.MemberStatus{
		{Member: "fenced", State: data.StateFenced, Primary: true, Reachable: true},
		{Member: "writable", State: data.StatePrimary, Primary: true, Reachable: true},
		{Member: "rejoined", State: data.StateStreaming, Reachable: true},
		{Member: "behind", State: data.StateCatchingUp, Reachable: true},
		{Member: "gone", State: data.StateUnreachable},
	}}
	for member, want := range map[string]bool{"fenced": true, "writable": false, "rejoined": false,
		"behind": false, "gone": true, "not-in-the-set": true} {
		if got := daemon.SelfFenceHolds(st, member); got != want {
			t.Errorf("SelfFenceHolds(%s) = %v, want %v", member, got, want)
		}
	}
}

// East loses the majority and fences both of its local primaries. One of them is then
// unfenced through the driver, as a run (or a person) would, while east is still cut
// off and so never lifts its own fence: east's status stops listing that member, and
// keeps listing the one still fenced.
func TestSelfFenceListFollowsTheMembers(t *testing.T) {
	shop, cart := demotest.StartPG(t), demotest.StartPG(t)
	w := daemontest.Start(t, 237, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		if err := os.WriteFile(filepath.Join(dir, "pg-password"), []byte(demotest.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		set := func(name, prefix string, pg *demotest.PG) *v1alpha1.MirrorSet {
			return &v1alpha1.MirrorSet{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: v1alpha1.MirrorSetSpec{
					Engine:      v1alpha1.EnginePostgres,
					Credentials: &v1alpha1.Credentials{User: "postgres", PasswordFrom: &v1alpha1.SecretRef{File: "pg-password"}},
					Members: []v1alpha1.Member{
						{Name: prefix + "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}},
						{Name: prefix + "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, Address: v1alpha1.Endpoint{Address: demotest.FreeAddr(t)}},
					},
				},
			}
		}
		f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: "shop-db"}
		f.MirrorSets = []*v1alpha1.MirrorSet{set("shop-db", "", shop), set("cart-db", "cart-", cart)}
	}})
	w.WaitLeader(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	w.Daemons["west"].Stop()
	w.Daemons["witness"].Stop()
	fenced := func() []string {
		f := slices.Clone(w.Status(t, "east").FencedData)
		slices.Sort(f)
		return f
	}
	coordtest.Eventually(t, 30*time.Second, "east fences both primaries", func() bool {
		return slices.Equal(fenced(), []string{"cart-db/cart-east-0", "shop-db/east-0"})
	})
	if readOnlyOf(ctx, shop) != "on" || readOnlyOf(ctx, cart) != "on" {
		t.Fatal("a self-fenced primary accepts writes")
	}

	drv, err := postgres.New(postgres.Config{Set: w.Fleet.MirrorSet("cart-db"), Password: demotest.Password})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := drv.FencingToken(ctx, "cart-east-0")
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Unfence(ctx, "cart-east-0", tok+1); err != nil {
		t.Fatal(err)
	}
	if got := readOnlyOf(ctx, cart); got != "off" {
		t.Fatalf("cart-east-0 after the unfence: default_transaction_read_only = %s", got)
	}
	coordtest.Eventually(t, 30*time.Second, "east lists only the member still fenced", func() bool {
		return slices.Equal(fenced(), []string{"shop-db/east-0"})
	})
	if got := readOnlyOf(ctx, shop); got != "on" {
		t.Fatalf("east-0 was unfenced too: default_transaction_read_only = %s", got)
	}
}
