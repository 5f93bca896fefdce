package labworld

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cli/clitest"
	"hadron.dev/hadron/lab/internal/links"
	"hadron.dev/hadron/lab/internal/world"
)

func TestPlans(t *testing.T) {
	st := world.Status{Dir: "/lab",
		Sites: []world.SiteStatus{
			{Name: "east", ControlPlane: "ok", ReadyPods: 6, Zones: []world.ZoneStatus{{Zone: "us-east-1a", Ready: 2, Total: 2}}},
			{Name: "west", ControlPlane: "down", Failed: true},
		},
		Links: []links.Status{{Link: "east-west", Latency: 35 * time.Millisecond, Proxies: 4}, {Link: "east-witness", Cut: true, Proxies: 2}},
	}
	for _, tc := range []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return planLink(st, world.LinkRequest{Action: "cut", A: "west", B: "east"}) }, "would cut link east-west (now up, 35ms one-way)"},
		{func() (string, error) { return planLink(st, world.LinkRequest{Action: "cut", A: "east", B: "witness"}) }, "cut already: nothing to do"},
		{func() (string, error) {
			return planLink(st, world.LinkRequest{Action: "latency", A: "east", B: "west", Latency: 80 * time.Millisecond})
		}, "from 35ms to 80ms"},
		{func() (string, error) { return planLink(st, world.LinkRequest{Action: "heal", A: "east", B: "mars"}) }, "error: no link between east and mars"},
		{func() (string, error) {
			return planFault(st, world.FaultRequest{Action: "fail", Kind: "site", Name: "east"})
		}, "would fail site east (now: control plane ok, 6 ready pods)"},
		{func() (string, error) {
			return planFault(st, world.FaultRequest{Action: "fail", Kind: "site", Name: "west"})
		}, "failed already: nothing to do"},
		{func() (string, error) {
			return planFault(st, world.FaultRequest{Action: "restore", Kind: "site", Name: "west"})
		}, "would restore site west"},
		{func() (string, error) {
			return planFault(st, world.FaultRequest{Action: "fail", Kind: "zone", Name: "us-east-1a"})
		}, "its 2 nodes (2 ready now) go NotReady"},
		{func() (string, error) {
			return planFault(st, world.FaultRequest{Action: "fail", Kind: "zone", Name: "us-west-2z"})
		}, `error: no zone "us-west-2z"`},
		{func() (string, error) { return planDown(st, true, false), nil }, "would remove /lab"},
	} {
		got, err := tc.got()
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// The lab's commands speak hadron's grammar: an unknown format and a missing flag are
// usage errors, found before the lab is asked anything.
func TestGrammar(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-o", "bogus", "--dir", dir}, cli.ExitUsage},
		{[]string{"-o", "yaml", "--dir", dir}, cli.ExitFailed}, // no lab runs there
	} {
		if _, errOut, code := clitest.Run(t, StatusCommand(), tc.args...); code != tc.code {
			t.Errorf("status %v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
		}
	}
	if _, errOut, code := clitest.Run(t, ApplyCommand(), "--site", "east", "--dir", dir); code != cli.ExitUsage || !strings.Contains(errOut, "-f/--file") {
		t.Errorf("apply without -f: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := clitest.Run(t, FailCommand(), "planet", "earth", "--dir", dir, "--dry-run"); code != cli.ExitUsage {
		t.Errorf("fail planet: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := clitest.Run(t, DownCommand(), "--dir", dir, "--dry-run"); code != 0 || !strings.Contains(out, "would remove "+dir) {
		t.Errorf("down --dry-run: exit %d\n%s%s", code, out, errOut)
	}
}
