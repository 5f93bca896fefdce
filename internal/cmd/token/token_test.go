package token

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cli/clitest"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/runbook"
)

var sites = []string{"east", "west", "witness"}

// The token commands against three real daemons on a real etcd: a read token created
// through one daemon works at every daemon, reads but gets 403 naming the role on an
// action, cannot manage tokens; revoked, every daemon refuses it within moments.
func TestCreateListRevokeAgainstDaemons(t *testing.T) {
	w := daemontest.Start(t, 233, daemontest.Options{})
	w.WaitLeader(t, sites...)
	base := []string{"-f", w.FleetFile, "--pki", w.PKI.Dir}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return clitest.Run(t, Command(), append(args, base...)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	out, errOut, code := run("create", "viewer", "--role", "read")
	secret := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(secret) ||
		!strings.Contains(errOut, "token viewer created with role read; its secret follows, shown only now") {
		t.Fatalf("create viewer: exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}

	clients := map[string]*api.Client{}
	for _, s := range sites {
		c := w.Client(t, s)
		c.Token = secret
		clients[s] = c
		coordtest.Eventually(t, 5*time.Second, "viewer accepted at "+s, func() bool {
			_, err := c.Status(ctx)
			return err == nil
		})
	}
	var se *api.StatusError
	_, err := clients["witness"].StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "west"})
	if !errors.As(err, &se) || se.Code != 403 || se.Msg != `forbidden: POST /v1/runbooks needs role operate; token "viewer" has read` {
		t.Fatalf("switchover with the read token: %v", err)
	}

	// The listing shows names and roles, never a secret or a hash.
	out, errOut, code = run("list", "-o", "json")
	var list struct {
		Kind  string
		Items []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || list.Kind != ListKind || len(list.Items) != 1 ||
		list.Items[0]["name"] != "viewer" || list.Items[0]["createdBy"] != apitoken.Bootstrap || strings.Contains(out, "sha256") || strings.Contains(out, secret) {
		t.Fatalf("list -o json: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	if out, _, _ := run("list"); !strings.Contains(out, "bootstrap  operate+daemon+admin") || !strings.Contains(out, "viewer     read") {
		t.Fatalf("list:\n%s", out)
	}

	// A name taken, an unknown role, the bootstrap name: refused.
	if _, errOut, code := run("create", "viewer", "--role", "operate"); code != cli.ExitFailed || !strings.Contains(errOut, "token exists") {
		t.Fatalf("second create of viewer: exit %d %s", code, errOut)
	}
	if _, errOut, code := run("create", "x", "--role", "root"); code != cli.ExitUsage || !strings.Contains(errOut, `unknown role "root"`) {
		t.Fatalf("create with role root: exit %d %s", code, errOut)
	}
	if _, _, code := run("create", "bootstrap", "--role", "read"); code != cli.ExitUsage {
		t.Fatalf("create bootstrap: exit %d", code)
	}
	if _, _, code := run("revoke", "bootstrap"); code != cli.ExitUsage {
		t.Fatalf("revoke bootstrap: exit %d", code)
	}

	// The read token may not manage tokens.
	viewerFile := filepath.Join(t.TempDir(), "viewer.token")
	if err := os.WriteFile(viewerFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run("list", "--token-file", viewerFile); code != cli.ExitFailed ||
		!strings.Contains(errOut, `forbidden: GET /v1/tokens needs role admin; token "viewer" has read`) {
		t.Fatalf("list with the read token: exit %d %s", code, errOut)
	}

	// An admin token made by the bootstrap one, with its secret in a file, manages tokens.
	adminFile := filepath.Join(t.TempDir(), "admin.token")
	if out, errOut, code := run("create", "ops-admin", "--role", "admin", "--secret-file", adminFile); code != 0 || !strings.Contains(out, "its secret is in "+adminFile) {
		t.Fatalf("create with --secret-file: exit %d\n%s\n%s", code, out, errOut)
	}
	if st, err := os.Stat(adminFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", st, err)
	}
	if _, _, code := run("create", "again", "--role", "read", "--secret-file", adminFile); code != cli.ExitUsage {
		t.Fatalf("--secret-file over an existing file: exit %d, want 2", code)
	}

	start := time.Now()
	coordtest.Eventually(t, 5*time.Second, "the admin token accepted", func() bool {
		_, _, code := run("revoke", "viewer", "--token-file", adminFile)
		return code == 0
	})
	for _, s := range sites {
		c := clients[s]
		coordtest.Eventually(t, 5*time.Second, "the revoked token refused at "+s, func() bool {
			_, err := c.Status(ctx)
			return errors.Is(err, api.ErrUnauthorized)
		})
	}
	t.Logf("revoked viewer refused by all three daemons %v after the revoke was asked", time.Since(start).Round(time.Millisecond))
	if _, errOut, code := run("revoke", "viewer"); code != cli.ExitFailed || !strings.Contains(errOut, "no such token") {
		t.Fatalf("second revoke: exit %d %s", code, errOut)
	}
}
