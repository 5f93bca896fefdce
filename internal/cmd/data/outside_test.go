package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cmd/runbook"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/internal/testenv/netlink"
)

// ledgerRecord holds the fields of a ledger record (runbook.Record) this test reads.
type ledgerRecord struct {
	ID         string     `json:"id"`
	App        string     `json:"app"`
	Kind       string     `json:"kind"`
	Set        string     `json:"set"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Who        string     `json:"who"`
	Tokens     []int64    `json:"tokens"`
	Status     string     `json:"status"`
	OldPrimary string     `json:"oldPrimary"`
	Promoted   string     `json:"promoted"`
	RPO        *data.Loss `json:"rpo"`
}

// One decider: while daemons run for the fleet, `hadron data promote` and `monitor`
// refuse, naming the leader; a forced promotion goes into the ledger with its decider
// and its measured loss; with every daemon gone they say that none answered. Real
// daemons (etcd, API), real PostgreSQL, a real cut of the cross-region link.
func TestPromoteAndMonitorLeaveTheSetToTheDaemons(t *testing.T) {
	testenv.PostgresBin(t)
	ports := testenv.FreePorts(t, 4)
	var pgDir string
	w := daemontest.Start(t, 208, daemontest.Options{Edit: func(f *fleet.Fleet, dir string) {
		pgDir = filepath.Join(dir, "pg")
		if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("outside-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
		f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: "shop-db"}
		f.MirrorSets = []*v1alpha1.MirrorSet{{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
			Spec: v1alpha1.MirrorSetSpec{
				Engine: v1alpha1.EnginePostgres, Database: "shop",
				Credentials: &v1alpha1.Credentials{User: "shop", PasswordFrom: &v1alpha1.SecretRef{File: "pw"}},
				Members: []v1alpha1.Member{
					// Each region reaches the other's member through a link (ports 2, 3).
					{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, DataDir: filepath.Join(pgDir, "east-0"),
						Address: v1alpha1.Endpoint{Address: addr(0), FromRegions: map[string]string{"region-west": addr(2)}}},
					{Name: "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, DataDir: filepath.Join(pgDir, "west-0"),
						Address: v1alpha1.Endpoint{Address: addr(1), FromRegions: map[string]string{"region-east": addr(3)}}},
				},
			},
		}}
	}})
	var links []*netlink.Link
	for i, to := range []int{0, 1} {
		p := netlink.New(fmt.Sprintf("127.0.0.1:%d", ports[2+i]), fmt.Sprintf("127.0.0.1:%d", ports[to]))
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		links = append(links, p)
	}
	t.Cleanup(func() {
		for _, m := range []string{"east-0", "west-0"} {
			_ = pgserver.Kill(context.Background(), filepath.Join(pgDir, m))
		}
		for _, p := range links {
			p.Cut()
		}
	})
	// The data commands find the daemons' CA and token where `hadron serve` keeps them.
	t.Setenv(coord.EnvPKI, w.PKI.Dir)
	fleetFile := w.FleetFile
	if out, err := run(t, fleetFile, "bootstrap", "shop-db"); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	leader, token := w.WaitLeader(t, coordtest.Sites...)
	primary := func() string {
		t.Helper()
		out, err := run(t, fleetFile, "status", "shop-db", "-o", "json")
		var st data.SetStatus
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("status: %v\n%s", err, out)
		}
		return st.Primary
	}

	// While the daemons run, neither command acts; both name the leader.
	want := fmt.Sprintf("mirror set shop-db is managed by the hadron daemons (leader %s@%d); use --force to act outside them", leader, token)
	for _, args := range [][]string{{"promote", "shop-db", "west-0"}, {"monitor", "shop-db"}} {
		out, err := run(t, fleetFile, args...)
		if err == nil || err.Error() != want {
			t.Fatalf("%s without --force: %v, want %q\n%s", args[0], err, want, out)
		}
	}
	if p := primary(); p != "east-0" {
		t.Fatalf("after the refusals the primary is %q, want east-0", p)
	}

	// East loses its link to west and goes on committing: promoting west-0 loses that.
	for _, p := range links {
		p.Cut()
	}
	commitRows(t, ports[0], "outside-secret", 20)

	// The ledger names the API token that asked (alice), not a name the command claims.
	out, err := run(t, fleetFile, "promote", "shop-db", "west-0", "--force", "--token-file", w.TokenFile(t, "alice", apitoken.Operate))
	if err != nil {
		t.Fatalf("promote --force: %v\n%s", err, out)
	}
	t.Log("\n" + out)
	for _, line := range []string{fmt.Sprintf("acting outside the hadron daemons (leader %s@%d); this promotion goes into the ledger under the API token's name", leader, token), "recorded in the ledger as "} {
		if !strings.Contains(out, line) {
			t.Errorf("promote --force output lacks %q", line)
		}
	}
	m := regexp.MustCompile(`lost: (\d+) bytes of WAL, (\d+) committed transactions`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("promote --force does not state the exact loss:\n%s", out)
	}
	lostBytes, _ := strconv.ParseInt(m[1], 10, 64)
	lostTx, _ := strconv.ParseInt(m[2], 10, 64)
	if lostTx < 21 { // the create table and the 20 inserts
		t.Fatalf("promote --force lost %d transactions, want at least 21", lostTx)
	}

	// The ledger holds the promotion: who, the token it carried, the loss it measured.
	var hist bytes.Buffer
	h := runbook.History()
	h.SetOut(&hist)
	h.SetErr(&hist)
	h.SetArgs([]string{daemontest.App, "-f", fleetFile, "-o", "json"})
	if err := h.Execute(); err != nil {
		t.Fatalf("history: %v\n%s", err, hist.String())
	}
	var doc struct {
		Kind string         `json:"kind"`
		Runs []ledgerRecord `json:"runs"`
	}
	if err := json.Unmarshal(hist.Bytes(), &doc); err != nil || doc.Kind != "History" || len(doc.Runs) != 1 {
		t.Fatalf("history: %v\n%s", err, hist.String())
	}
	r := doc.Runs[0]
	if r.Kind != "promote" || r.App != daemontest.App || r.Set != "shop-db" || r.Who != "alice" || r.Status != "done" ||
		r.OldPrimary != "east-0" || r.Promoted != "west-0" || r.From != "east" || r.To != "west" ||
		len(r.Tokens) != 1 || r.Tokens[0] < token {
		t.Errorf("ledger record: %+v", r)
	}
	if r.RPO == nil || !r.RPO.Counted || r.RPO.Transactions != lostTx || r.RPO.Bytes != lostBytes {
		t.Errorf("ledger RPO %+v, want %d bytes and %d transactions counted", r.RPO, lostBytes, lostTx)
	}
	hist.Reset()
	h = runbook.History()
	h.SetOut(&hist)
	h.SetArgs([]string{daemontest.App, "-f", fleetFile})
	if err := h.Execute(); err != nil {
		t.Fatalf("history: %v\n%s", err, hist.String())
	}
	t.Log("\n" + hist.String())
	for _, line := range []string{"by alice", "by hand on mirror set shop-db, outside the daemons", "promote of shop east → west: done",
		fmt.Sprintf("RPO: %d bytes, %d transactions", lostBytes, lostTx)} {
		if !strings.Contains(hist.String(), line) {
			t.Errorf("hadron history lacks %q", line)
		}
	}
	if p := primary(); p != "west-0" {
		t.Fatalf("after the forced promotion the primary is %q, want west-0", p)
	}

	// Every daemon gone: the fleet still declares them, and the command says none
	// answered instead of acting.
	for _, s := range coordtest.Sites {
		w.Daemons[s].Stop()
	}
	out, err = run(t, fleetFile, "promote", "shop-db", "east-0")
	want = "mirror set shop-db is managed by the hadron daemons (east, west, witness), but none of them answered"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("promote with no daemon answering: %v, want %q\n%s", err, want, out)
	}
	if p := primary(); p != "west-0" {
		t.Fatalf("after the refusal the primary is %q, want west-0", p)
	}
}
