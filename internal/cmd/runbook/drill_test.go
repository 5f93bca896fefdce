package runbook

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/demo"
)

// drillWorld starts the daemons and waits until both sites are up by quorum; base are
// the flags that reach them.
func drillWorld(t *testing.T, netID int) (*daemontest.World, []string) {
	t.Helper()
	// Both load balancers serve the demo application on one in-memory database, as
	// a replicated one that loses nothing.
	db := demo.NewMemStore()
	w := daemontest.Start(t, netID, daemontest.Options{Handler: func(site string) http.Handler {
		return demo.NewHandler(site, db, slog.New(slog.DiscardHandler))
	}})
	w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	return w, []string{"-f", w.FleetFile, "--pki", w.PKI.Dir}
}

// runDrill runs `hadron drill` in-process: its report (stdout), its progress (stderr)
// and its error.
func runDrill(args ...string) (string, string, error) {
	var out, progress bytes.Buffer
	cmd := Drill()
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), progress.String(), err
}

// The drill's client resolves at the zone's name servers in turn: with the daemon of
// the first one (west's, outside the active site) stopped, its writes still reach the
// application through the main name, and the drill gets as far as its fault.
func TestDrillClientResolvesPastAStoppedNameServer(t *testing.T) {
	w, base := drillWorld(t, 236)
	w.Daemons["west"].Stop()
	out, progress, err := runDrill(append([]string{daemontest.App, "--fault", "false", "--warmup", "1s"}, base...)...)
	if err == nil || !strings.Contains(err.Error(), `fault "false"`) {
		t.Fatalf("drill: %v, want the fault's failure after writes went through\n%s%s", err, out, progress)
	}
}
