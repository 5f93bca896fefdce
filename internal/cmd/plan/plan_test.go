package plan_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"hadron.dev/hadron/internal/cli/clitest"
	"os"
	"path/filepath"
	"testing"

	"hadron.dev/hadron/internal/cmd/root"
)

const example = "../../../examples/fleet.yaml"

var update = flag.Bool("update", false, "rewrite testdata/example.txt from the current output")

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return clitest.Run(t, root.New(), args...)
}

// The text plan of the example fleet is compared with a reviewed golden file.
func TestPlanText(t *testing.T) {
	out, errOut, code := run(t, "plan", "-f", example)
	if code != 0 || errOut != "" {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	golden := filepath.Join("testdata", "example.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("plan differs from %s (go test -run TestPlanText -update to accept):\n%s", golden, out)
	}
}

func TestPlanJSON(t *testing.T) {
	out, _, code := run(t, "plan", "-f", example, "-o", "json")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	var p struct {
		Topology struct {
			Regions []struct {
				Name  string
				Sites []struct {
					Name, Role string
					Zones      []struct {
						Name    string
						Members []struct{ MirrorSet, Member, Role string }
					}
				}
			}
			Applications []struct {
				Name, ActiveSite, Standby string
				DNS                       struct{ Strategy string }
			}
			MirrorSets []struct {
				Members []struct{ Name, Role, Site, Region, Zone string }
			}
			Voting struct {
				Sites    []string
				Majority int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	top := p.Topology
	if len(top.Regions) != 3 || top.Regions[0].Name != "us-east-1" || top.Regions[2].Sites[0].Role != "witness" {
		t.Errorf("regions: %+v", top.Regions)
	}
	if z := top.Regions[0].Sites[0].Zones[1]; z.Name != "us-east-1b" || len(z.Members) != 1 || z.Members[0].Member != "east-1" || z.Members[0].Role != "failover" {
		t.Errorf("east zone b: %+v", z)
	}
	if a := top.Applications[0]; a.ActiveSite != "east" || a.Standby != "pilot-light" || a.DNS.Strategy != "failover" {
		t.Errorf("application: %+v", a)
	}
	if m := top.MirrorSets[0].Members[2]; m.Name != "west-0" || m.Region != "us-west-2" || m.Zone != "us-west-2a" || m.Role != "dr-async" {
		t.Errorf("member: %+v", m)
	}
	if len(top.Voting.Sites) != 3 || top.Voting.Majority != 2 {
		t.Errorf("voting: %+v", top.Voting)
	}
}

// A fleet with problems is not planned: the problems go to stderr and the exit is 1.
func TestPlanBadFleet(t *testing.T) {
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, bytes.Replace(b, []byte("site: west"), []byte("site: wset"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "plan", "-f", p)
	want := p + `: MirrorSet "shop-db": spec.members[2].site: site "wset" is not defined (did you mean "west"?)` + "\nhadron: " + p + ": 1 problem\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("code %d\nstdout %q\nstderr %q\nwant   %q", code, out, errOut, want)
	}
}
