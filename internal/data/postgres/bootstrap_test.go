package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
)

func TestBootstrapRolesAndVerify(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	l.bootstrap(ctx)
	// Bootstrap returns once RPO 0 is in force: east-1 is listed synchronous at once.

	st, err := l.drv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Primary != "east-0" {
		t.Fatalf("primary = %q, want east-0", st.Primary)
	}
	want := map[string]struct {
		state    data.State
		sync     bool
		upstream string
	}{
		"east-0": {data.StatePrimary, false, ""},
		"east-1": {data.StateStreaming, true, "east-0"},
		"west-0": {data.StateStreaming, false, "east-0"},
	}
	for _, m := range st.Members {
		w := want[m.Member]
		if m.State != w.state || m.Sync != w.sync || m.Upstream != w.upstream || !m.Reachable || m.Timeline != 1 {
			t.Errorf("%s: state=%s sync=%v upstream=%q reachable=%v tli=%d err=%s; want %s sync=%v upstream=%q tli=1",
				m.Member, m.State, m.Sync, m.Upstream, m.Reachable, m.Timeline, m.Error, w.state, w.sync, w.upstream)
		}
		if m.SystemID == 0 || m.SystemID != st.Members[0].SystemID {
			t.Errorf("%s: system id %d differs from the primary's %d", m.Member, m.SystemID, st.Members[0].SystemID)
		}
	}

	v, err := l.drv.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.Primary != "east-0" || len(v.Members) != 3 {
		t.Fatalf("verify: %+v", v)
	}
	for _, m := range v.Members {
		t.Logf("marker on %s after %s", m.Member, m.After)
	}

	// Bootstrap again only starts what already exists.
	l.bootstrap(ctx)

	// The password is in no configuration file and no server log.
	for _, m := range l.set.Spec.Members {
		for _, f := range []string{filepath.Join(m.DataDir, "postgresql.auto.conf"), filepath.Join(m.DataDir, "postgresql.conf"), pgserver.LogPath(m.DataDir)} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "Sécret") {
				t.Errorf("%s holds the password", f)
			}
		}
	}
}
