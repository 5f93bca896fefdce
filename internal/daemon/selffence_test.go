package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
)

func TestLocalPrimaries(t *testing.T) {
	st := &data.SetStatus{Members: []data.MemberStatus{
		{Member: "east-1", Site: "east", State: data.StateStreaming},
		{Member: "east-0", Site: "east", State: data.StatePrimary},
		{Member: "west-0", Site: "west", State: data.StatePrimary}, // split brain elsewhere: not ours
		{Member: "east-2", Site: "east", State: data.StateFenced},
		{Member: "east-3", Site: "east", State: data.StateUnreachable},
	}}
	got := daemon.LocalPrimaries(st, "east")
	if strings.Join(got, ",") != "east-0" {
		t.Fatalf("local primaries of east: %v, want [east-0]", got)
	}
	if got := daemon.LocalPrimaries(st, "witness"); len(got) != 0 {
		t.Fatalf("witness has primaries %v", got)
	}
}

// dataFleet gives the test application a mirror set: east-0 on pg, west-0 never started.
func dataFleet(t *testing.T, pg *demotest.PG) func(f *fleet.Fleet, dir string) {
	return func(f *fleet.Fleet, dir string) {
		withShopDB(t, f, dir,
			v1alpha1.Member{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}},
			// Never started: unreachable, which Status reports without failing.
			v1alpha1.Member{Name: "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, Address: v1alpha1.Endpoint{Address: demotest.FreeAddr(t)}})
	}
}

// withShopDB gives the test application the PostgreSQL mirror set shop-db of members,
// logging in as postgres with demotest's password (written to dir's pg-password), and
// returns the set for the test to change further.
func withShopDB(t *testing.T, f *fleet.Fleet, dir string, members ...v1alpha1.Member) *v1alpha1.MirrorSet {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "pg-password"), []byte(demotest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set := &v1alpha1.MirrorSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
		Spec: v1alpha1.MirrorSetSpec{
			Engine:      v1alpha1.EnginePostgres,
			Credentials: &v1alpha1.Credentials{User: "postgres", PasswordFrom: &v1alpha1.SecretRef{File: "pg-password"}},
			Members:     members,
		},
	}
	f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: set.Name}
	f.MirrorSets = []*v1alpha1.MirrorSet{set}
	return set
}

// readOnlyOf says what a new session of pg gets for default_transaction_read_only.
func readOnlyOf(ctx context.Context, pg *demotest.PG) string {
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		return "connect: " + err.Error()
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&v); err != nil {
		return "show: " + err.Error()
	}
	return v
}

func TestCutOffDaemonMakesItsPrimaryReadOnly(t *testing.T) {
	pg := demotest.StartPG(t)
	w := daemontest.Start(t, 224, daemontest.Options{Edit: dataFleet(t, pg)})
	w.WaitLeader(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	readOnly := func() string { return readOnlyOf(ctx, pg) }
	if got := readOnly(); got != "off" {
		t.Fatalf("primary before the cut: default_transaction_read_only = %s", got)
	}
	// Every daemon observes the mirror set for status.
	coordtest.Eventually(t, 30*time.Second, "west's status shows the data", func() bool {
		ds := w.Status(t, "west").Apps[0].Data
		return ds != nil && ds.Primary == "east-0" && len(ds.Members) == 2 && ds.Members[1].State == "unreachable"
	})
	c := w.Client(t, "west")
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.TLS}}
	resp, err := hc.Get("https://" + c.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `hadron_data_lag_bytes{member="east-0",set="shop-db",site="east"} 0`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
	w.Daemons["west"].Stop()
	w.Daemons["witness"].Stop()
	coordtest.Eventually(t, 30*time.Second, "east fences its primary", func() bool {
		return len(w.Status(t, "east").FencedData) == 1
	})
	if got := w.Status(t, "east").FencedData[0]; got != "shop-db/east-0" {
		t.Errorf("fenced %q, want shop-db/east-0", got)
	}
	if got := readOnly(); got != "on" {
		t.Fatalf("primary after the self-fence: default_transaction_read_only = %s", got)
	}
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE TABLE written_while_cut_off (x int)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write on the fenced primary: %v, want a read-only error", err)
	}
}

// A daemon cut off for a moment fences its primary; when the majority is back and no
// failover moved the application meanwhile, it lifts the fence: a blip of the
// coordination cluster must not leave the active site read-only.
func TestSelfFenceLiftedWhenTheMajorityReturns(t *testing.T) {
	pg := demotest.StartPG(t)
	w := daemontest.Start(t, 219, daemontest.Options{Links: true, Edit: dataFleet(t, pg)})
	w.WaitLeader(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.Links.Cut("east")
	coordtest.Eventually(t, 30*time.Second, "east fences its primary", func() bool {
		return readOnlyOf(ctx, pg) == "on"
	})
	w.Links.Heal(t, "east")
	coordtest.Eventually(t, 60*time.Second, "east lifts its fence", func() bool {
		return readOnlyOf(ctx, pg) == "off" && len(w.Status(t, "east").FencedData) == 0
	})
}

// A blip shorter than fencing a primary takes: the unfence must wait for the fence in
// flight and then lift it. (Run side by side, the unfence found nothing to lift and the
// fence landed after it: the active site stayed read-only.)
func TestFlapLeavesThePrimaryWritable(t *testing.T) {
	pg := demotest.StartPG(t)
	w := daemontest.Start(t, 252, daemontest.Options{Edit: dataFleet(t, pg)})
	w.WaitLeader(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	coordtest.Eventually(t, 30*time.Second, "east's status shows its primary", func() bool {
		ds := w.Status(t, "east").Apps[0].Data
		return ds != nil && ds.Primary == "east-0"
	})
	writable := func() bool { return readOnlyOf(ctx, pg) == "off" && len(w.Status(t, "east").FencedData) == 0 }
	for i := range 3 {
		w.Daemons["east"].Flap()
		coordtest.Eventually(t, 30*time.Second, fmt.Sprintf("flap %d: the primary is writable", i), writable)
		// A fence that lands after its unfence comes within milliseconds; 2 s is plenty
		// to see it.
		time.Sleep(2 * time.Second)
		if !writable() {
			t.Fatalf("flap %d: the primary stayed read-only after the majority came back: %s, fenced %v",
				i, readOnlyOf(ctx, pg), w.Status(t, "east").FencedData)
		}
	}
}
