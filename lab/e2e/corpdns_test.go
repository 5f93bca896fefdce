package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// corpDNSConfig is the company-DNS lab: regions 17, 18 and 19, the witness's (19)
// company BIND on 127.0.0.1:15319 (lab/internal/topology/corpdns.go), updated by the
// leader through RFC 2136.
var corpDNSConfig = labYAML(17, "35ms") + "dns: bind\n"

const corpDNS = "127.0.0.1:15319"

func digCorp(t *testing.T) string {
	t.Helper()
	host, port, _ := strings.Cut(corpDNS, ":")
	out, err := exec.Command("dig", "+short", "+time=1", "+tries=1", "-p", port, "@"+host, demoName, "A").Output()
	if err != nil {
		return fmt.Sprint("dig: ", err)
	}
	return strings.TrimSpace(string(out))
}

// TestCompanyDNSFollowsRuns: with dns: bind, the company's BIND answers the main name
// with the active site from the start, a switchover's dns step waits until BIND has
// the new site and its verify asks BIND, and the client of the drill, which resolves
// at BIND only, follows.
func TestCompanyDNSFollowsRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	cp := startControlPlaneLab(t, corpDNSConfig)
	east, _, _ := strings.Cut(cp.eastLB, ":")
	west, _, _ := strings.Cut(cp.westLB, ":")
	eventually(t, time.Minute, "BIND answers east", func() (bool, string) {
		got := digCorp(t)
		return got == east, got
	})
	for _, to := range []struct{ site, ip string }{{"west", west}, {"east", east}} {
		rep, progress, err := cp.h.drill(5*time.Minute, demoApp, "--trigger", "switchover", "--to", to.site, "--dns", corpDNS)
		if err != nil {
			t.Fatalf("switchover drill to %s resolving at BIND: %v\n%s", to.site, err, progress)
		}
		d := rep.Drill
		t.Logf("resolving at BIND: %s", d.figures())
		if d.Run == nil || d.Run.Status != "done" || d.Acked == 0 || len(d.Lost) != 0 {
			t.Fatalf("switchover to %s: %v, %d acked, lost %v\n%s", to.site, d.Run, d.Acked, d.Lost, progress)
		}
		var dnsStep, verify string
		for _, s := range d.Run.Steps {
			switch s.Name {
			case "dns":
				dnsStep = s.Detail
			case "verify":
				verify = s.Detail
			}
		}
		// The provider has the site active at once; it answers it once the quorum
		// sees the site up (a pilot-light stand-by answers 503 until activated), and
		// the step says which of the two it found.
		named := strings.Contains(dnsStep, "dns providers corp-dns answer "+to.site) ||
			strings.Contains(dnsStep, "dns providers corp-dns have "+to.site+" active")
		if !named && dnsStep != "already done" {
			t.Errorf("dns step to %s: %q, want it to name the provider", to.site, dnsStep)
		}
		if !strings.Contains(verify, "answers "+to.ip+" at 1 server(s) of corp-dns") {
			t.Errorf("verify to %s did not ask BIND: %q", to.site, verify)
		}
		if got := digCorp(t); got != to.ip {
			t.Errorf("BIND answers %q after the switchover to %s, want %s", got, to.site, to.ip)
		}
	}
	out, _, err := cp.h.daemons(30*time.Second, "status")
	if err != nil || !strings.Contains(out, "dns provider corp-dns (rfc2136 gslb.example.com): in step") {
		t.Errorf("hadron status does not show the provider in step: %v\n%s", err, out)
	}
}
