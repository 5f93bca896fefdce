// Package testenv finds the real programs that integration tests run (PostgreSQL, BIND,
// dig, ...). Outside CI a missing program skips the test with the command that installs
// it; under CI (CI=true) it fails the test, since `make test` installs everything.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// InstallHint is shown when a program is missing.
const InstallHint = "run scripts/install-deps.sh (make test does)"

// LookPath returns the path of the first candidate that exists, as a name on PATH or as
// an absolute path. It skips or fails t when none does.
func LookPath(t testing.TB, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	Missing(t, "none of %v found; %s", candidates, InstallHint)
	return ""
}

// Missing skips t, or fails it under CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// PostgresBin returns the directory of PostgreSQL 15's server programs.
func PostgresBin(t testing.TB) string {
	t.Helper()
	const dir = "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(dir + "/postgres"); err != nil {
		Missing(t, "PostgreSQL 15 not found in %s; %s", dir, InstallHint)
	}
	return dir
}

// FreePorts returns n TCP ports on 127.0.0.1 that were free a moment ago (chosen by the
// kernel), so that tests running at the same time, or a server left over by an
// interrupted run, do not collide.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
