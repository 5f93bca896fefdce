package daemon_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
)

// closedUDP is an address on ip where nothing listens: a name server that is gone.
func closedUDP(t *testing.T, ip string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// The verify step's check of the main name at a real daemon needs a majority of the
// daemons' name servers to answer the target: with east's and witness's name servers
// out of reach from every region it fails (the step retries), and says which did not
// answer and why.
func TestVerifyNeedsAMajorityOfTheDaemonsNameServers(t *testing.T) {
	dead := closedUDP(t, "127.0.234.99")
	w := daemontest.Start(t, 234, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
		for _, s := range []string{"east", "witness"} {
			f.Site(s).Spec.Daemon.DNS.FromRegions = map[string]string{"region-east": dead, "region-west": dead, "region-witness": dead}
		}
	}})
	east := w.LBs["east"].IP()
	waitAnswers(t, w, east, all...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := w.Daemons["west"].CheckMainName(daemontest.App)
	detail, err := check(ctx, "east")
	if err == nil {
		t.Fatalf("verified with one name server of three answering: %q", detail)
	}
	for _, want := range []string{"answers east at 1/3 name servers (needs 2)", "east: no answer (connection refused)", "witness: no answer (connection refused)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
}
