package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/internal/testenv/netlink"
)

const fleetTemplate = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec: {region: us-east, zones: [a, b]}
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: west}
spec: {region: us-west, zones: [a]}
---
apiVersion: hadron.dev/v1alpha1
kind: MirrorSet
metadata: {name: shop-db}
spec:
  engine: postgres
  database: shop
  members:
    - {name: east-0, site: east, zone: a, role: primary, dataDir: %[1]s/east-0,
       address: {address: "127.0.0.1:%[2]d", fromRegions: {us-west: "127.0.0.1:%[5]d"}}}
    - {name: east-1, site: east, zone: b, role: failover, dataDir: %[1]s/east-1,
       address: {address: "127.0.0.1:%[3]d", fromRegions: {us-west: "127.0.0.1:%[6]d"}}}
    - {name: west-0, site: west, zone: a, role: dr-async, dataDir: %[1]s/west-0,
       address: {address: "127.0.0.1:%[4]d", fromRegions: {us-east: "127.0.0.1:%[7]d"}}}
  credentials:
    user: shop
    passwordFrom: {file: %[8]s}
`

func run(t *testing.T, fleetPath string, args ...string) (string, error) {
	t.Helper()
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append(args, "-f", fleetPath))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCLI(t *testing.T) {
	testenv.PostgresBin(t)
	dir := t.TempDir()
	ports := testenv.FreePorts(t, 6)
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("cli-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "badpw"), []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, pwfile string) string {
		p := filepath.Join(dir, name)
		y := fmt.Sprintf(fleetTemplate, filepath.Join(dir, "pg"), ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], pwfile)
		if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := write("fleet.yaml", "pw"), write("bad.yaml", "badpw")
	var proxies []*netlink.Link
	for i := 0; i < 3; i++ {
		p := netlink.New(fmt.Sprintf("127.0.0.1:%d", ports[3+i]), fmt.Sprintf("127.0.0.1:%d", ports[i]))
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, p)
	}
	t.Cleanup(func() {
		for _, m := range []string{"east-0", "east-1", "west-0"} {
			_ = pgserver.Kill(context.Background(), filepath.Join(dir, "pg", m))
		}
		for _, p := range proxies {
			p.Cut()
		}
	})

	out, err := run(t, good, "bootstrap", "shop-db")
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	out, err = run(t, good, "status", "shop-db")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out)
	for _, want := range []string{"east-0", "Primary", "Failover", "DR async", "streaming", "east-0 (sync)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, good, "status", "shop-db", "-o", "json")
	var st data.SetStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Primary != "east-0" || len(st.Members) != 3 {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if out, err = run(t, good, "verify", "shop-db"); err != nil || strings.Count(out, "seen after") != 3 {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// Wrong password: a clear error, nothing changed.
	out, err = run(t, bad, "promote", "shop-db", "west-0", "--force")
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error()+out, "wrong") {
		t.Fatalf("promote with a wrong password: %v\n%s", err, out)
	}
	if _, err = run(t, good, "status", "shop-db", "-o", "json"); err != nil {
		t.Fatal(err)
	}

	// Cut the cross-region link, write, and promote the DR member.
	for _, p := range proxies {
		p.Cut()
	}
	commitRows(t, ports[0], "cli-secret", 50)
	out, err = run(t, good, "promote", "shop-db", "west-0")
	if err == nil || !strings.Contains(out, "would lose") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("promote without --force: %v\n%s", err, out)
	}
	out, err = run(t, good, "promote", "shop-db", "west-0", "--force")
	if err != nil {
		t.Fatalf("promote --force: %v\n%s", err, out)
	}
	t.Log("\n" + out)
	// 51 commits: the create table and the 50 inserts.
	if !strings.Contains(out, "51 committed transactions") {
		t.Fatalf("promote --force output lacks the exact loss:\n%s", out)
	}

	// Heal; the old in-region members rejoin the new primary by rewinding.
	for _, p := range proxies {
		if err := p.Heal(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"east-1", "east-0"} {
		if out, err := run(t, good, "rejoin", "shop-db", m); err != nil {
			t.Fatalf("rejoin %s: %v\n%s", m, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		out, err = run(t, good, "status", "shop-db", "-o", "json")
		st = data.SetStatus{}
		if err == nil && json.Unmarshal([]byte(out), &st) == nil && st.Primary == "west-0" &&
			st.Member("east-0").Upstream == "west-0" && st.Member("east-1").Upstream == "west-0" &&
			st.Member("east-0").State == data.StateStreaming && st.Member("east-1").State == data.StateStreaming {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("members did not follow west-0: %v\n%s", err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if out, err = run(t, good, "verify", "shop-db"); err != nil {
		logs, _ := os.ReadFile(pgserver.LogPath(filepath.Join(dir, "pg", "east-1")))
		st, _ := run(t, good, "status", "shop-db")
		t.Fatalf("verify after DR promotion: %v\n%s\n%s\neast-1 log:\n%s", err, out, st, logs[max(0, len(logs)-5000):])
	}
}

// commitRows creates table t on the member at port (autovacuum off, so the tests can
// count commits) and commits n rows into it, one transaction each.
func commitRows(t *testing.T, port int, password string, n int) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), fmt.Sprintf("host=127.0.0.1 port=%d user=shop password=%s dbname=shop sslmode=disable", port, password))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `create table t (n int) with (autovacuum_enabled = off)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := conn.Exec(context.Background(), `insert into t values ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
}
