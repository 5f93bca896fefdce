package fleetcmd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli/clitest"
	"hadron.dev/hadron/internal/cmd/fleetcmd"
)

var example = filepath.Join("..", "..", "..", "examples", "fleet.yaml")

func hadron() *cobra.Command {
	root := &cobra.Command{Use: "hadron", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(fleetcmd.Command())
	return root
}

// export prints manifests that import turns back into the same text; an invalid
// manifest exits 1 naming the field, as hadron validate does.
func TestExportImport(t *testing.T) {
	out, errOut, code := clitest.Run(t, hadron(), "fleet", "export", "-f", example)
	if code != 0 || !strings.Contains(out, "kind: MirrorSet\nmetadata:\n  name: shop-db\n") {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	manifestsFile := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(manifestsFile, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	back, errOut, code := clitest.Run(t, hadron(), "fleet", "import", "-f", manifestsFile)
	if code != 0 || back != out {
		t.Fatalf("import: exit %d\n%s\nwant\n%s\n%s", code, back, out, errOut)
	}

	bad := strings.Replace(out, "engine: postgres", "engine: oracle", 1)
	if err := os.WriteFile(manifestsFile, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	got, errOut, code := clitest.Run(t, hadron(), "fleet", "import", "-f", manifestsFile)
	if code != fleetcmd.ExitProblems || got != "" || !strings.Contains(errOut, `MirrorSet "shop-db": spec.engine`) {
		t.Errorf("invalid import: exit %d, stdout %q, stderr %q", code, got, errOut)
	}
	if _, errOut, code := clitest.Run(t, hadron(), "fleet", "import", "-f", filepath.Join(t.TempDir(), "none.yaml")); code != fleetcmd.ExitUnreadable {
		t.Errorf("import of a missing file: exit %d, want %d\n%s", code, fleetcmd.ExitUnreadable, errOut)
	}
}
