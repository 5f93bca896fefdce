package root

import (
	"os/exec"
	"strings"
	"testing"
)

// The operator's commands talk to the daemons and to etcd as clients: only `hadron
// serve` runs an etcd member. A command package that pulled in the etcd server (through
// coord/member or the daemon) would make every CLI change rebuild ~600 packages.
func TestCommandsLinkNoEtcdServer(t *testing.T) {
	out, err := exec.Command("go", "list", "hadron.dev/hadron/internal/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/cmd/serve") || strings.HasSuffix(pkg, "/cmd/root") {
			continue // the daemon, and the wiring of every role
		}
		deps, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if strings.HasPrefix(d, "go.etcd.io/etcd/server/") || strings.HasSuffix(d, "/internal/coord/member") || strings.HasSuffix(d, "/internal/daemon") {
				t.Errorf("%s depends on %s", pkg, d)
				break
			}
		}
	}
}
