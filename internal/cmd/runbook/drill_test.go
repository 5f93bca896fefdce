package runbook

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
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

// A drill whose fault fails did not happen: its report says what failed and prints no
// figure — no RTO, no RPO, no writes counted — and its JSON holds no figure either
// (no drill, no statistics), only the error.
func TestDrillWhoseFaultFailsReportsNothingMeasured(t *testing.T) {
	_, base := drillWorld(t, 237)
	args := append([]string{daemontest.App, "--fault", "false", "--warmup", "1s"}, base...)

	out, progress, err := runDrill(args...)
	if err == nil || !strings.Contains(err.Error(), `fault "false"`) {
		t.Fatalf("drill: %v, want the fault's failure\n%s%s", err, out, progress)
	}
	if !strings.Contains(out, "nothing measured") || !strings.Contains(out, `fault "false"`) {
		t.Errorf("the report does not say that nothing was measured, and why:\n%s", out)
	}
	for _, figure := range []string{"RTO", "RPO", "acknowledged", "outage", "0s"} {
		if strings.Contains(out, figure) {
			t.Errorf("the report of a drill that did not happen shows %q:\n%s", figure, out)
		}
	}

	out, progress, err = runDrill(append(args, "-o", "json")...)
	if err == nil {
		t.Fatalf("drill -o json succeeded\n%s%s", out, progress)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, ok := got["stats"]; ok {
		t.Errorf("statistics over no drill: %s", out)
	}
	if string(got["drills"]) != "[]" || !strings.Contains(string(got["error"]), `fault \"false\"`) {
		t.Errorf("drills %s, error %s: want none and the fault's failure", got["drills"], got["error"])
	}
	var failed map[string]json.RawMessage
	if err := json.Unmarshal(got["failed"], &failed); err != nil {
		t.Fatalf("failed drill: %v: %s", err, out)
	}
	if _, ok := failed["drill"]; ok || !strings.Contains(string(failed["error"]), `fault \"false\"`) {
		t.Errorf("the failed drill's report holds figures, or not its error: %s", got["failed"])
	}
}

// --report writes the drill as a page for people, with the timeline drawn from what
// was measured (each step of the run, the DNS move), and the picture alone beside it.
func TestDrillReportWritesPageAndPicture(t *testing.T) {
	_, base := drillWorld(t, 188)
	dir := t.TempDir()
	html := filepath.Join(dir, "drill.html")
	out, progress, err := runDrill(append([]string{daemontest.App, "--trigger", "switchover", "--to", "west",
		"--warmup", "1s", "--report", html}, base...)...)
	if err != nil {
		t.Fatalf("drill: %v\n%s%s", err, out, progress)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "switchover east → west", "DNS answers west", "The drill passed", "acknowledged writes lost",
		"<dt>from → to</dt><dd>east → west</dd>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	pic, err := os.ReadFile(filepath.Join(dir, "drill.svg"))
	if err != nil || !strings.Contains(string(pic), "DNS answers west") {
		t.Errorf("timeline picture beside the report: %v\n%s", err, pic)
	}
	// make screenshots keeps them as examples beside the dashboard's pictures.
	if out := os.Getenv("HADRON_SCREENSHOTS"); out != "" {
		for name, b := range map[string][]byte{"drill-report.html": page, "drill-report.svg": pic} {
			if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
