package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBothCopiesLostLab is issue 18's drill on regions 53, 54 and 55: the DR member
// west-0 is lost — killed, its data directory gone, not restarted — and then east (the
// primary's region), under the drill's load. No copy of shop-db is left
// but the archive in the object store; the lab's set allows a restore from it
// (spec.backup.restoreWhenNoMember, mode async), so the daemons' automatic failover
// rebuilds west-0 from the archive and serves from west. The report gives the RTO, the
// writes lost by sequence number and the time they span, and
// the ledger's prediction (the archive lag read before the fault plus the archive
// interval); the test requires the loss within it.
func TestBothCopiesLostLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	start := time.Now()
	l := startDemoLab(t, labYAML(53, "35ms"), "127.0.53.10:8080", 150)
	t.Logf("lab up and the demo serving in %s", time.Since(start).Round(time.Second))
	h := newHadronCLI(t, l.dir)

	// A restore needs a backup: the leader takes the first full one by itself.
	eventually(t, 4*time.Minute, "the first full backup in the store", func() (bool, string) {
		st, raw := h.backupStatus(20 * time.Second)
		return st.Backups >= 1 && st.Archive.Primary == "east-0", raw
	})

	var westDir string
	for _, m := range labFleet(t, h.fleet).MirrorSet("shop-db").Spec.Members {
		if m.Name == "west-0" {
			westDir = m.DataDir
		}
	}
	if westDir == "" || !filepath.IsAbs(westDir) {
		t.Fatalf("west-0's data directory %q: want an absolute path", westDir)
	}
	// Both copies gone: the DR member's process (kept down for longer than the test)
	// and its data directory, then east's region. In this order the failover cannot
	// find west-0 still alive and promote it before it is lost.
	fault := fmt.Sprintf("hadron lab fail process west-0 --delay 1h && rm -rf %s && hadron lab fail site east", westDir)
	rep, progress, err := h.drill(15*time.Minute, demoApp, "--fault", fault, "--rate", "50")
	if err != nil {
		t.Fatalf("both-copies-lost drill: %v", err)
	}
	d := rep.Drill
	t.Logf("drill at %.0f writes/s: %s", rep.Rate, d.figures())
	if d.Run != nil {
		t.Logf("decision → verified %s", d.Run.RTO)
	}
	if d.Run == nil || d.Run.Kind != "failover" || d.Run.To != "west" || d.Run.Status != "done" {
		t.Fatalf("failover run %v: want a failover to west, done\n%s", d.Run, progress)
	}
	for _, s := range d.Run.Steps {
		took := "-"
		if s.Started != nil && s.Ended != nil {
			took = s.Ended.Sub(*s.Started).Round(time.Millisecond).String()
		}
		t.Logf("  %-14s %9s  %s", s.Name, took, s.Detail)
	}
	if d.Acked == 0 {
		t.Fatalf("the drill's client acknowledged no write: nothing was tested")
	}
	a := d.Archive
	if a == nil {
		t.Fatalf("the drill reports no restore from the archive\n%s", progress)
	}
	t.Logf("restored %s; %d acknowledged writes lost, spanning %s of writes; predicted ≤ %s (archive lag %d bytes, %s waiting, + archive interval %s); within: %v",
		a.Restored, a.Lost, a.Window.Round(time.Millisecond), a.Bound, a.LagBytes, a.Waiting.Round(time.Millisecond), a.ArchiveTimeout, a.Within)
	if a.Restored != "west-0" || !a.Predicted {
		t.Errorf("restored %q, predicted %v: want west-0 restored against a prediction", a.Restored, a.Predicted)
	}
	if a.Lost != len(d.Lost) {
		t.Errorf("the archive figures count %d writes lost, the drill %d", a.Lost, len(d.Lost))
	}
	if !a.Within || a.Window > a.Bound {
		t.Errorf("RPO %s (%d writes) is over the prediction %s", a.Window, a.Lost, a.Bound)
	}
	var restoreStep string
	for _, s := range d.Run.Steps {
		if s.Name == "promote" {
			restoreStep = s.Detail
		}
	}
	if !strings.Contains(restoreStep, "restored west-0 from the archive") {
		t.Errorf("the promote step says %q, want a restore from the archive", restoreStep)
	}

	// The restored primary serves at west and takes writes.
	code, body, err := httpGet("127.0.54.10:8080", "/healthz")
	if code != 200 {
		t.Errorf("west after the restore: %d %s %v", code, body, err)
	}
}
