package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// controlPlaneConfig is the control-plane scenarios' lab: regions 13, 14 and 15, far
// from the user's lab (1-3) and TestLabEndToEnd's (5-7), with the lab's 35 ms links.
var controlPlaneConfig = labYAML(13, "35ms")

const (
	demoApp  = "shop"
	demoSet  = "shop-db"
	demoName = "shop.gslb.example.com"
)

// TestControlPlane runs issue 6's scenarios against one lab, in order, each starting
// and ending with shop active at east: a planned switchover, a region loss, a
// partition, the leader killed mid-runbook, and the witness down. A scenario whose
// predecessor did not bring the application home is skipped, not failed.
func TestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	cp := startControlPlaneLab(t, controlPlaneConfig)

	t.Run("switchover under write load loses no acknowledged write", func(t *testing.T) {
		cp.needHome(t)
		cp.switchTo(t, "west")
		cp.switchTo(t, "east")
		cp.waitHome(t)
	})

	t.Run("region loss fails over to west on its own and the ledger's RPO is the writes lost", func(t *testing.T) {
		cp.needHome(t)
		cp.regionLoss(t)
		cp.waitHome(t)
	})

	t.Run("partition: east fences itself, west takes over, no write reaches two primaries", func(t *testing.T) {
		cp.needHome(t)
		cp.partition(t)
		cp.waitHome(t)
	})

	t.Run("leader killed mid-runbook: another daemon finishes the run", func(t *testing.T) {
		cp.needHome(t)
		cp.leaderKilled(t)
		cp.waitHome(t)
	})

	t.Run("witness down: no automatic failover, and status says why", func(t *testing.T) {
		cp.needHome(t)
		cp.witnessDown(t)
		cp.waitHome(t)
	})
}

// cpLab is the lab the control-plane scenarios share.
type cpLab struct {
	l *lab
	h *hadronCLI
	// eastLB and westLB are the sites' load balancers, eastNS east's daemon name server.
	eastLB, westLB, eastNS string
	// home is set when the last scenario ended with shop at east and nothing in flight.
	home bool
}

// labDo runs `hadron-lab ARGS` and fails t (not the lab's parent test) on error.
func (c *cpLab) labDo(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	if out, err := c.l.run(timeout, args...); err != nil {
		t.Fatalf("hadron-lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// startControlPlaneLab starts the lab and deploys the demo application at east as
// soon as the fleet file exists: the daemons start right after it and would otherwise
// find east without the application (see the note in the test's report).
func startControlPlaneLab(t *testing.T, config string) *cpLab {
	l := &lab{t: t, bin: binary(t, "hadron-lab", "HADRON_LAB_BINARY"), dir: filepath.Join(t.TempDir(), "lab")}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := l.run(3*time.Minute, "down"); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out)
		}
	})
	cp := &cpLab{l: l, h: newHadronCLI(t, l.dir)}
	// Registered after down, so it runs first: the logs are still there.
	t.Cleanup(func() {
		if t.Failed() {
			cp.dumpLogs(t)
		}
	})

	manifests, err := filepath.Abs(filepath.Join("..", "..", "demo", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out string
		err error
	}
	up := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := l.run(10*time.Minute, "up", "--config", cfg)
		up <- result{out, err}
	}()
	var (
		done     *result
		applied  bool
		applyErr string
	)
	for done == nil {
		select {
		case r := <-up:
			done = &r
		case <-time.After(100 * time.Millisecond):
		}
		if !applied {
			if _, err := os.Stat(cp.h.fleet); err == nil {
				out, err := l.run(2*time.Minute, "apply", "--site", "east", "-f", manifests)
				applied, applyErr = err == nil, fmt.Sprint(err, out)
			}
		}
	}
	if done.err != nil {
		t.Fatalf("lab up: %v\n%s", done.err, done.out)
	}
	t.Logf("lab up in %s", time.Since(start).Round(time.Second))
	if !applied {
		t.Fatalf("apply the demo application at east: %s", applyErr)
	}

	f := labFleet(t, cp.h.fleet)
	east, west := f.Site("east"), f.Site("west")
	if east == nil || west == nil || east.Spec.Daemon == nil || east.Spec.Daemon.DNS == nil ||
		len(east.Spec.LoadBalancers) == 0 || len(west.Spec.LoadBalancers) == 0 {
		t.Fatalf("the lab's fleet lacks east's or west's load balancer or east's name server: %s", cp.h.fleet)
	}
	cp.eastLB, cp.westLB = east.Spec.LoadBalancers[0].Address, west.Spec.LoadBalancers[0].Address
	cp.eastNS = east.Spec.Daemon.DNS.Address

	eventually(t, 3*time.Minute, "east serves the application", func() (bool, string) {
		code, body, err := httpGet(cp.eastLB, "/healthz")
		return code == 200, fmt.Sprint(code, body, err)
	})
	// Nothing may have moved the application before it was even up.
	if hist, err := cp.h.history(demoApp); err != nil || len(hist) > 0 {
		t.Fatalf("ledger right after the start: %v %v (a run before the application was deployed)", hist, err)
	}
	cp.waitHome(t)
	return cp
}

// atHome says whether shop runs at east with nothing in flight: a leader with the
// majority and no open run, west in step (readiness), and the mirror set's primary at
// east with every other member streaming from it.
func (c *cpLab) atHome() (bool, string) {
	st, err := c.h.leading()
	if err != nil {
		return false, err.Error()
	}
	a := st.app(demoApp)
	switch {
	case a == nil:
		return false, "status has no application " + demoApp
	case a.Active != "east":
		return false, "active at " + a.Active
	case a.Run != nil:
		return false, fmt.Sprintf("run %s open (%s at %s)", a.Run.ID, a.Run.Status, a.Run.StepName)
	}
	if out, _, err := c.h.run(30*time.Second, "check", "readiness", "-f", c.h.fleet, demoApp); err != nil {
		return false, fmt.Sprintf("readiness: %v\n%s", err, out)
	}
	ds, err := c.h.dataStatus(demoSet)
	if err != nil {
		return false, err.Error()
	}
	for _, m := range ds.Members {
		switch {
		case m.Member == ds.Primary && m.Site != "east":
			return false, "primary " + m.Member + " at " + m.Site
		case m.Member != ds.Primary && (m.State != "streaming" || m.Upstream != ds.Primary):
			return false, fmt.Sprintf("%s %s from %q, primary %q", m.Member, m.State, m.Upstream, ds.Primary)
		}
	}
	if ds.Primary == "" {
		return false, "no primary"
	}
	return true, ""
}

// waitHome fails t unless shop comes home to east.
func (c *cpLab) waitHome(t *testing.T) {
	t.Helper()
	eventually(t, 3*time.Minute, "shop active at east with nothing in flight", c.atHome)
	c.home = true
}

// needHome skips t when the previous scenario did not bring shop home, and marks the
// lab away for the next one until t brings it back.
func (c *cpLab) needHome(t *testing.T) {
	t.Helper()
	if !c.home {
		deadline := time.Now().Add(time.Minute)
		for {
			ok, why := c.atHome()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Skipf("an earlier scenario left the lab away from home: %s", why)
			}
			time.Sleep(time.Second)
		}
	}
	c.home = false
}

// switchTo drills a planned switchover to site under write load: nothing acknowledged
// may be lost.
func (c *cpLab) switchTo(t *testing.T, site string) {
	t.Helper()
	rep, progress, err := c.h.drill(5*time.Minute, demoApp, "--trigger", "switchover", "--to", site)
	if err != nil {
		t.Fatalf("switchover drill to %s: %v", site, err)
	}
	d := rep.Drill
	t.Logf("%s", d.figures())
	if d.Run == nil || d.Run.Kind != "switchover" || d.Run.To != site || d.Run.Status != "done" {
		t.Fatalf("switchover to %s: run %v\n%s", site, d.Run, progress)
	}
	if d.Acked == 0 {
		t.Errorf("switchover to %s: no write acknowledged, the load proves nothing\n%s", site, progress)
	}
	if len(d.Lost) != 0 {
		t.Errorf("switchover to %s lost acknowledged writes %v", site, d.Lost)
	}
	if d.RPOTransactions != 0 && d.RPOBytes != 0 {
		t.Errorf("switchover to %s: the ledger's RPO is %d transactions, %d bytes; want 0", site, d.RPOTransactions, d.RPOBytes)
	}
}

// regionLoss kills east under load, lets the daemons fail over on their own, restores
// east and fails back.
func (c *cpLab) regionLoss(t *testing.T) { regionLossAndFailback(t, c.l, c.h) }

// regionLossAndFailback is the region-loss drill with its failback: east is killed
// under load, the daemons fail over to west on their own, east is restored and the
// application fails back. The ledger must count what the client lost; the failback
// loses nothing. It returns the drill's report.
func regionLossAndFailback(t *testing.T, l *lab, h *hadronCLI) drillReport {
	defer func() {
		if t.Failed() {
			// A drill stopped between its fault and its repair leaves east down.
			if out, err := l.run(6*time.Minute, "restore", "site", "east"); err == nil {
				t.Logf("restored east after the failure: %s", out)
			}
		}
	}()
	rep, progress, err := h.drill(8*time.Minute, demoApp,
		"--fault", "hadron lab fail site east", "--repair", "hadron lab restore site east", "--failback")
	if err != nil {
		t.Fatalf("region-loss drill: %v", err)
	}
	d := rep.Drill
	t.Logf("%s", d.figures())
	if d.Run == nil {
		t.Fatalf("the drill has no failover run\n%s", progress)
	}
	t.Logf("failover run: %s, decision → verified %s", d.Run, d.Run.RTO)
	if d.Acked == 0 {
		t.Errorf("no write acknowledged during the drill: the load proves nothing\n%s", progress)
	}
	if d.Run.Kind != "failover" || d.Run.Who != "auto" || d.Run.To != "west" || d.Run.Status != "done" {
		t.Errorf("failover run %s: want an automatic failover to west, done", d.Run)
	}
	if d.RPOTransactions >= 0 {
		if int64(len(d.Lost)) != d.RPOTransactions {
			t.Errorf("the ledger counts %d transactions lost; the client lost %d acknowledged writes %v", d.RPOTransactions, len(d.Lost), d.Lost)
		}
	} else {
		t.Logf("note: the ledger did not count the lost transactions (bytes: %d); the client lost %d writes %v", d.RPOBytes, len(d.Lost), d.Lost)
		if d.RPOBytes < 0 {
			t.Errorf("the ledger reports neither transactions nor bytes lost")
		}
	}
	fb := rep.Failback
	if fb == nil {
		t.Fatalf("the drill did not fail back\n%s", progress)
	}
	t.Logf("%s", fb.figures())
	if fb.Run == nil || fb.Run.Kind != "failback" || fb.Run.To != "east" || fb.Run.Status != "done" {
		t.Errorf("failback run %v: want a failback to east, done\n%s", fb.Run, progress)
	}
	if len(fb.Lost) != 0 {
		t.Errorf("the failback lost acknowledged writes %v", fb.Lost)
	}
	return rep
}

// runIDs is the set of the ledger's run ids now.
func (c *cpLab) runIDs(t *testing.T) map[string]bool {
	t.Helper()
	hist, err := c.h.history(demoApp)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	ids := map[string]bool{}
	for _, r := range hist {
		ids[r.ID] = true
	}
	return ids
}

// newRuns are the ledger's runs that are not in before.
func (c *cpLab) newRuns(before map[string]bool) ([]runRecord, error) {
	hist, err := c.h.history(demoApp)
	if err != nil {
		return nil, err
	}
	var out []runRecord
	for _, r := range hist {
		if !before[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// partition cuts east off from west and the witness while its processes run on.
func (c *cpLab) partition(t *testing.T) {
	before := c.runIDs(t)
	eastIP, _, err := net.SplitHostPort(c.eastLB)
	if err != nil {
		t.Fatal(err)
	}
	healed := false
	heal := func() {
		for _, peer := range []string{"west", "witness"} {
			if out, err := c.l.run(time.Minute, "link", "heal", "east", peer); err != nil {
				t.Errorf("heal east-%s: %v\n%s", peer, err, out)
			}
		}
		healed = true
	}
	defer func() {
		if !healed {
			heal()
		}
	}()
	c.labDo(t, time.Minute, "link", "cut", "east", "west")
	c.labDo(t, time.Minute, "link", "cut", "east", "witness")

	// The majority side (west and the witness) fails over on its own.
	var fo runRecord
	eventually(t, 3*time.Minute, "a closed failover in the ledger", func() (bool, string) {
		runs, err := c.newRuns(before)
		if err != nil {
			return false, err.Error()
		}
		for _, r := range runs {
			if r.Kind == "failover" {
				fo = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("new runs: %v", runs)
	})
	t.Logf("failover during the partition: %s, decision → verified %s", fo, fo.RTO)
	if fo.Who != "auto" || fo.To != "west" || fo.Status != "done" {
		t.Fatalf("failover %s: want an automatic failover to west, done", fo)
	}

	// East, without the majority, fences itself: its name server stops sending clients
	// to east, and its primary refuses writes.
	eventually(t, time.Minute, "east's daemon self-fenced", func() (bool, string) {
		st, err := c.h.status("east")
		return err == nil && st.Etcd.SelfFenced && !st.Etcd.Quorum, fmt.Sprintf("%+v %v", st.Etcd, err)
	})
	eventually(t, time.Minute, "east's name server stops answering "+demoName+" with east", func() (bool, string) {
		got, err := nsAnswer(c.eastNS, demoName)
		return err == nil && !strings.Contains(got, eastIP), fmt.Sprintf("%q %v", got, err)
	})
	got, _ := nsAnswer(c.eastNS, demoName)
	t.Logf("east's name server answers %s with %q", demoName, got)

	// No write is accepted by two primaries: east refuses, west accepts.
	for seq := 1; seq <= 5; seq++ {
		code, body, err := httpPost(c.eastLB, fmt.Sprintf("/write?client=e2e-partition-east&seq=%d", seq))
		if err == nil && code == 200 {
			t.Errorf("east's load balancer accepted a write after the failover to west: %s", body)
		}
	}
	var accepted []int64
	seq := int64(0)
	eventually(t, time.Minute, "west accepts writes", func() (bool, string) {
		seq++
		code, body, err := httpPost(c.westLB, fmt.Sprintf("/write?client=e2e-partition-west&seq=%d", seq))
		if err == nil && code == 200 {
			accepted = append(accepted, seq)
			return true, ""
		}
		return false, fmt.Sprint(code, body, err)
	})
	for range 4 {
		seq++
		code, body, err := httpPost(c.westLB, fmt.Sprintf("/write?client=e2e-partition-west&seq=%d", seq))
		if err != nil || code != 200 {
			t.Errorf("west refused write %d: %d %s %v", seq, code, body, err)
			continue
		}
		accepted = append(accepted, seq)
	}

	heal()
	eventually(t, 2*time.Minute, "east's daemon back in the majority", func() (bool, string) {
		st, err := c.h.status("east")
		return err == nil && st.Etcd.Quorum && !st.Etcd.SelfFenced && st.Leader != "", fmt.Sprintf("%+v leader %q %v", st.Etcd, st.Leader, err)
	})
	out, errOut, err := c.h.daemons(6*time.Minute, "failback", demoApp, "--who", "e2e-partition")
	t.Logf("hadron failback:\n%s%s", out, errOut)
	if err != nil {
		t.Fatalf("failback after the partition: %v", err)
	}
	runs, err := c.newRuns(before)
	if err != nil {
		t.Fatal(err)
	}
	var fb *runRecord
	for i, r := range runs {
		switch {
		case r.Kind == "failback":
			fb = &runs[i]
		case r.ID == fo.ID && r.RPO != nil:
			// The loss is counted once the old primary is back and rewound.
			t.Logf("failover's RPO in the ledger: %d transactions, %d bytes (%s)", r.RPO.Transactions, r.RPO.Bytes, r.RPO.Method)
		}
	}
	if fb == nil || fb.To != "east" || fb.Status != "done" {
		t.Fatalf("failback in the ledger: %v; runs since the partition: %v", fb, runs)
	}

	// Every write west acknowledged came home.
	eventually(t, time.Minute, "west's writes read back at east", func() (bool, string) {
		code, body, err := httpGet(c.eastLB, "/read?client=e2e-partition-west")
		if err != nil || code != 200 {
			return false, fmt.Sprint(code, body, err)
		}
		rb, err := decode[readBack]("read", body, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range accepted {
			if !rb.has(s) {
				return false, fmt.Sprintf("acknowledged write %d missing: %s", s, body)
			}
		}
		return true, ""
	})
}

// leaderKilled kills the leading daemon (SIGKILL: no resignation) while its switchover
// runs; another daemon must take the lead and finish the run.
func (c *cpLab) leaderKilled(t *testing.T) {
	st, err := c.h.leading()
	if err != nil {
		t.Fatal(err)
	}
	leader := st.Leader
	pid, err := daemonPID(filepath.Join(c.l.dir, "daemons", leader))
	if err != nil {
		t.Fatalf("leader %s: %v", leader, err)
	}
	before := c.runIDs(t)

	type result struct {
		out string
		err error
	}
	cli := make(chan result, 1)
	go func() {
		out, errOut, err := c.h.daemons(6*time.Minute, "switchover", demoApp, "--to", "west", "--who", "e2e-leader-kill")
		cli <- result{out + errOut, err}
	}()
	var runID, step string
	eventually(t, time.Minute, "the switchover's run open at the leader", func() (bool, string) {
		st, err := c.h.status(leader)
		if err != nil {
			return false, err.Error()
		}
		if a := st.app(demoApp); a != nil && a.Run != nil && a.Run.Kind == "switchover" {
			runID, step = a.Run.ID, a.Run.StepName
			return true, ""
		}
		return false, "no open switchover"
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the leader %s (pid %d): %v", leader, pid, err)
	}
	t.Logf("killed the leader %s (pid %d, token %d) during run %s at step %s", leader, pid, st.LeaderToken, runID, step)

	var rec runRecord
	eventually(t, 4*time.Minute, "run "+runID+" closed", func() (bool, string) {
		runs, err := c.newRuns(before)
		if err != nil {
			return false, err.Error()
		}
		for _, r := range runs {
			if r.ID == runID {
				rec = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("not closed; new runs: %v", runs)
	})
	t.Logf("run: %s, decision → verified %s", rec, rec.RTO)
	if rec.Status != "done" || rec.To != "west" {
		t.Errorf("run %s: want a switchover to west, done", rec)
	}
	if len(rec.Tokens) < 2 {
		t.Errorf("run %s: tokens %v, want the killed leader's and a successor's", rec, rec.Tokens)
	}
	select {
	case r := <-cli:
		t.Logf("hadron switchover (err %v):\n%s", r.err, r.out)
	case <-time.After(6 * time.Minute):
		t.Errorf("hadron switchover did not return")
	}
	if now, err := c.h.leading(); err == nil {
		t.Logf("leader now %s (token %d)", now.Leader, now.LeaderToken)
	}

	// The lab does not restart a killed daemon: failing and restoring its site does.
	// A site is only failed while it is a stand-by, or the daemons would fail over.
	restart := func() {
		c.labDo(t, 3*time.Minute, "fail", "site", leader)
		c.labDo(t, 6*time.Minute, "restore", "site", leader)
		eventually(t, 2*time.Minute, leader+"'s daemon back in the majority", func() (bool, string) {
			st, err := c.h.status(leader)
			return err == nil && st.Etcd.Quorum && st.Leader != "", fmt.Sprintf("%+v leader %q %v", st.Etcd, st.Leader, err)
		})
	}
	if leader == "west" {
		c.switchTo(t, "east")
		restart()
	} else {
		restart()
		c.switchTo(t, "east")
	}
}

// witnessDown takes the witness down, then east: west alone has no majority, so
// nothing may fail over, and its status must say why.
func (c *cpLab) witnessDown(t *testing.T) {
	before := c.runIDs(t)
	restored := false
	defer func() {
		if !restored {
			// East first: with the witness back alone, west and the witness would be a
			// majority that finds east down.
			for _, s := range []string{"east", "witness"} {
				if out, err := c.l.run(6*time.Minute, "restore", "site", s); err != nil {
					t.Logf("restore %s: %v\n%s", s, err, out)
				}
			}
		}
	}()
	c.labDo(t, 3*time.Minute, "fail", "site", "witness")
	c.labDo(t, 3*time.Minute, "fail", "site", "east")
	faultAt := time.Now()

	eventually(t, time.Minute, "west's daemon without a majority", func() (bool, string) {
		st, err := c.h.status("west")
		return err == nil && !st.Etcd.Quorum && st.Leader == "", fmt.Sprintf("%+v leader %q %v", st.Etcd, st.Leader, err)
	})
	out, _, err := c.h.daemons(30*time.Second, "status", "--daemon", "west")
	if err != nil {
		t.Errorf("hadron status --daemon west: %v", err)
	}
	// internal/cmd/status.NoQuorum.
	if !strings.Contains(out, "no quorum: decisions frozen") {
		t.Errorf("west's status does not say that decisions are frozen:\n%s", out)
	}
	t.Logf("west's status with east and the witness down:\n%s", out)

	// Watch for 15 s that nothing moves: proving an absence takes a window.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ; time.Since(faultAt) < 15*time.Second; <-tick.C {
		st, err := c.h.status("west")
		if err != nil {
			continue
		}
		if a := st.app(demoApp); a != nil && (a.Active != "east" || a.Run != nil) {
			t.Errorf("without a majority, west's daemon shows shop at %s with run %+v", a.Active, a.Run)
			break
		}
	}

	c.labDo(t, 6*time.Minute, "restore", "site", "east")
	c.labDo(t, 6*time.Minute, "restore", "site", "witness")
	restored = true
	eventually(t, 2*time.Minute, "a leader again", func() (bool, string) {
		_, err := c.h.leading()
		return err == nil, fmt.Sprint(err)
	})
	runs, err := c.newRuns(before)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		t.Errorf("a run while east and the witness were down: %s", r)
	}
}

// dumpLogs prints the end of the daemons' and the supervisor's logs.
func (c *cpLab) dumpLogs(t *testing.T) {
	for _, name := range []string{"supervisor.log", "logs/hadron-east.log", "logs/hadron-west.log", "logs/hadron-witness.log", "logs/demo-east.log", "logs/demo-west.log"} {
		t.Logf("---- %s (last lines)\n%s", name, tail(filepath.Join(c.l.dir, name), 60))
	}
}
