package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/internal/demo/demoapi"
	"hadron.dev/hadron/internal/demo/demotest"
)

func call[T any](t *testing.T, method, url string) (T, int) {
	t.Helper()
	var v T
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return v, resp.StatusCode
}

func TestWithPostgres(t *testing.T) {
	pg := demotest.StartPG(t)
	url := demotest.Serve(t, "east", pg.DSN())
	demotest.WaitHealth(t, url, 200, time.Minute)

	for seq := 1; seq <= 50; seq++ {
		if seq == 25 {
			continue // a hole the read must report
		}
		w, code := call[demoapi.WriteResponse](t, "POST", fmt.Sprintf("%s/write?client=c1&seq=%d", url, seq))
		if code != 200 || w.Seq != int64(seq) || w.Client != "c1" || w.Site != "east" || w.DB != pg.Addr || w.ID == 0 || w.Duplicate {
			t.Fatalf("write %d: %d %+v", seq, code, w)
		}
	}
	dup, code := call[demoapi.WriteResponse](t, "POST", url+"/write?client=c1&seq=7")
	if code != 200 || !dup.Duplicate || dup.ID != 7 {
		t.Fatalf("rewrite of seq 7: %d %+v, want the existing row 7", code, dup)
	}
	call[demoapi.WriteResponse](t, "POST", url+"/write?client=c2&seq=3")

	rd, code := call[demoapi.ReadResponse](t, "GET", url+"/read?client=c1")
	want := []demoapi.Range{{1, 24}, {26, 50}}
	if code != 200 || rd.Count != 49 || rd.Max != 50 || !reflect.DeepEqual(rd.Ranges, want) || rd.DB != pg.Addr {
		t.Fatalf("read: %d %+v, want ranges %v", code, rd, want)
	}
	st, code := call[demoapi.Stats](t, "GET", url+"/stats")
	wantClients := map[string]demoapi.ClientStats{"c1": {Count: 49, MaxSeq: 50}, "c2": {Count: 1, MaxSeq: 3}}
	if code != 200 || st.Rows != 50 || st.MaxID < 50 || !reflect.DeepEqual(st.Clients, wantClients) ||
		st.DB != pg.Addr || st.Server != pg.Addr || st.ReadOnly || st.InRecovery || st.Site != "east" {
		t.Fatalf("stats: %d %+v", code, st)
	}

	// The database goes away and comes back: the service says so and reconnects
	// without a restart.
	pg.Stop(t)
	demotest.WaitHealth(t, url, 503, time.Minute)
	if _, code := call[demoapi.WriteResponse](t, "POST", url+"/write?client=c1&seq=51"); code != 503 {
		t.Fatalf("write while the database is down: %d, want 503", code)
	}
	pg.Start(t)
	demotest.WaitHealth(t, url, 200, time.Minute)
	if w, code := call[demoapi.WriteResponse](t, "POST", url+"/write?client=c1&seq=51"); code != 200 || w.Duplicate {
		t.Fatalf("write after restart: %d %+v", code, w)
	}
}

// TestFollowsReadWriteMember gives the service two independent servers; only one
// accepts writes at a time, as after a fence and a promotion. The service must always
// write to the read-write one, switching without a restart.
func TestFollowsReadWriteMember(t *testing.T) {
	a, b := demotest.StartPG(t), demotest.StartPG(t)
	setReadOnly(t, a, true)
	dsn := fmt.Sprintf("postgres://postgres:%s@%s,%s/postgres?sslmode=disable&connect_timeout=2&target_session_attrs=read-write",
		demotest.Password, a.Addr, b.Addr)
	url := demotest.Serve(t, "east", dsn)
	demotest.WaitHealth(t, url, 200, time.Minute)
	if w, code := call[demoapi.WriteResponse](t, "POST", url+"/write?client=f&seq=1"); code != 200 || w.DB != b.Addr {
		t.Fatalf("write with a read-only: %d %+v, want it on %s", code, w, b.Addr)
	}
	// Switch: a becomes the primary, b is fenced (read-only, sessions terminated).
	setReadOnly(t, a, false)
	setReadOnly(t, b, true)
	deadline := time.Now().Add(time.Minute)
	for seq := 2; ; seq++ {
		w, code := call[demoapi.WriteResponse](t, "POST", fmt.Sprintf("%s/write?client=f&seq=%d", url, seq))
		if code == 200 && w.DB == a.Addr {
			break
		}
		if code == 200 && w.DB == b.Addr {
			t.Fatalf("write %d acknowledged by the fenced member %s", seq, b.Addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service did not move to %s within a minute (last: %d %+v)", a.Addr, code, w)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _ := call[demoapi.Stats](t, "GET", url+"/stats")
	if st.DB != a.Addr || st.ReadOnly {
		t.Fatalf("stats after the switch: %+v", st)
	}
}

// setReadOnly fences or unfences pg the way the data driver does: a read-only default
// for new transactions, then every client session is terminated.
func setReadOnly(t *testing.T, pg *demotest.PG, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	v := map[bool]string{true: "on", false: "off"}[on]
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET default_transaction_read_only = "+v); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	// The postmaster applies the reload asynchronously: wait until a new session sees it,
	// so that no session started after the termination below has the old setting.
	for {
		c, err := pgx.Connect(ctx, pg.DSN())
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = c.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&got)
		c.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got == v {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("default_transaction_read_only still %s", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
}
