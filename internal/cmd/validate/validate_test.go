package validate_test

import (
	"encoding/json"
	"hadron.dev/hadron/internal/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/cmd/root"
	"hadron.dev/hadron/internal/fleet"
)

const example = "../../../examples/fleet.yaml"

// run executes hadron in-process and returns stdout, stderr and the exit code that
// root.Execute would give.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return clitest.Run(t, root.New(), args...)
}

func badFleet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "activeSite: east", "activeSite: esat", 1)
	s = strings.Replace(s, "ttl: 10", "ttl: 0", 1)
	s = strings.Replace(s, "role: dr-async", "role: dr-asnyc", 1)
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateGood(t *testing.T) {
	out, errOut, code := run(t, "validate", "-f", example)
	want := example + ": OK: 3 sites (east, west, witness), 1 application (shop), 1 mirror set (shop-db)\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("code %d\nstdout %q\nstderr %q\nwant %q", code, out, errOut, want)
	}
}

func TestValidateDefaultPathFromEnvironment(t *testing.T) {
	t.Setenv(fleet.EnvFleet, example)
	if out, _, code := run(t, "validate"); code != 0 || !strings.HasPrefix(out, example+": OK") {
		t.Errorf("code %d, stdout %q", code, out)
	}
}

func TestValidateBad(t *testing.T) {
	p := badFleet(t)
	out, errOut, code := run(t, "validate", "-f", p)
	want := strings.Join([]string{
		p + `: Application "shop": spec.dns.siteNames[east]: site "east" is not one of the application's sites (west)`,
		p + `: Application "shop": spec.dns.ttl: 0 is out of range (1 to 3600 seconds)`,
		p + `: Application "shop": spec.policy.activeSite: site "esat" is not defined (did you mean "east"?)`,
		p + `: MirrorSet "shop-db": spec.members[2].role: "dr-asnyc" is not one of primary, failover, dr-async (did you mean "dr-async"?)`,
	}, "\n") + "\n"
	if code != 1 || out != want || errOut != "hadron: "+p+": 4 problems\n" {
		t.Errorf("code %d\nstdout:\n%s\nwant:\n%s\nstderr %q", code, out, want, errOut)
	}
}

func TestValidateJSON(t *testing.T) {
	p := badFleet(t)
	out, _, code := run(t, "validate", "-f", p, "-o", "json")
	var r struct {
		Valid    bool
		Problems []fleet.FieldError
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 1 || r.Valid || len(r.Problems) != 4 {
		t.Fatalf("code %d, result %+v", code, r)
	}
	got := r.Problems[2]
	want := fleet.FieldError{File: p, Doc: 4, Line: 72, Kind: "Application", Name: "shop", Path: "spec.policy.activeSite", Reason: `site "esat" is not defined (did you mean "east"?)`}
	if got != want {
		t.Errorf("problem = %q doc %d line %d, want %q doc %d line %d", got.Error(), got.Doc, got.Line, want.Error(), want.Doc, want.Line)
	}

	out, _, code = run(t, "validate", "-f", example, "-o", "json")
	if code != 0 || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"problems": []`) {
		t.Errorf("code %d, stdout %s", code, out)
	}
}

func TestValidateUnreadable(t *testing.T) {
	_, errOut, code := run(t, "validate", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 2 || !strings.Contains(errOut, "no such file or directory") {
		t.Errorf("missing file: code %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(t, "validate", "-f", example, "-o", "xml")
	if code != 2 || !strings.Contains(errOut, `invalid argument "xml" for "-o, --output" flag: want text, json, yaml or jsonpath=TEMPLATE`) {
		t.Errorf("bad -o: code %d, stderr %q", code, errOut)
	}
}
