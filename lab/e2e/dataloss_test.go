package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dataLossConfig runs the data-loss mode tests' lab on regions 25, 26 and 27, with the
// demo's mirror set in the given mode (lab.yaml's dataLoss).
func dataLossConfig(dataLoss string) string {
	return labYAML(25, "35ms") + "dataLoss: " + dataLoss + "\n"
}

// TestDataLossBoundedLab runs mode bounded (200ms) through the daemons, as a user does
// from the README: status shows the mode, the bound and the DR member's confirmed lag;
// the daemon at the primary's site keeps the bound keeper; a region-loss drill fails
// over and loses at most what 200 ms of writes at the drill's rate allow, plus those in
// flight; the ledger's run carries the promise.
func TestDataLossBoundedLab(t *testing.T) {
	// 200 writes/s makes the bound worth 40 writes: a drill that lost more than the
	// bound would show.
	runDataLossLab(t, "{mode: bounded, bound: 200ms}", "bounded", 200*time.Millisecond, 200)
}

// TestDataLossSynchronousLab is the same in mode synchronous: the region-loss drill
// loses no acknowledged write.
func TestDataLossSynchronousLab(t *testing.T) {
	// Every commit waits a cross-region round trip (70 ms): 8 writers do ~100/s.
	runDataLossLab(t, "{mode: synchronous}", "synchronous", 0, 50)
}

// startDataLossLab starts the lab with the demo's mirror set in the given mode, and
// waits for east to serve the demo.
func startDataLossLab(t *testing.T, dataLoss string) (*lab, *hadronCLI) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	start := time.Now()
	l := startDemoLab(t, dataLossConfig(dataLoss), "127.0.25.10:8080", 100)
	t.Logf("lab up and the demo serving in %s", time.Since(start).Round(time.Second))
	return l, newHadronCLI(t, l.dir)
}

// startDemoLab starts a lab of the given lab.yaml, applies the demo's manifests to
// east and waits for east's load balancer (eastLB) to serve it. The lab goes down when
// the test ends, its last dumpLines log lines printed first when the test failed.
func startDemoLab(t *testing.T, labYAML, eastLB string, dumpLines int) *lab {
	t.Helper()
	l := &lab{t: t, bin: binary(t, "hadron-lab", "HADRON_LAB_BINARY"), dir: filepath.Join(t.TempDir(), "lab")}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(labYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpLogs(dumpLines)
		}
		if out, err := l.run(3*time.Minute, "down"); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out)
		}
	})
	l.must(10*time.Minute, "up", "--config", cfg)
	l.applyDemoAtEast(t, eastLB)
	return l
}

// TestDataLossBoundedPartitionLab is the scenario through the daemons: east is
// cut off from west and the witness while the drill's client, outside every region,
// keeps writing to it. In mode async east acknowledges until its daemon fences it
// (about 2.4 s of writes lost); the bound keeper stops acknowledging 200 ms after
// west-0 stopped confirming.
func TestDataLossBoundedPartitionLab(t *testing.T) {
	runPartitionLab(t, "{mode: bounded, bound: 200ms}", "bounded", 200*time.Millisecond)
}

// TestDataLossAsyncPartitionLab is the same partition in mode async, the baseline the
// bound is measured against: only the ledger's count is checked (async promises no
// bound), and the loss is logged.
func TestDataLossAsyncPartitionLab(t *testing.T) {
	runPartitionLab(t, "{mode: async}", "async", 0)
}

func runPartitionLab(t *testing.T, dataLoss, mode string, bound time.Duration) {
	l, h := startDataLossLab(t, dataLoss)
	waitPromise(t, h, mode, bound)
	rep, progress, err := h.drill(10*time.Minute, demoApp,
		"--fault", "hadron lab link cut east west && hadron lab link cut east witness",
		"--repair", "hadron lab link heal east west && hadron lab link heal east witness",
		"--rate", "200")
	defer func() {
		if t.Failed() {
			for _, peer := range []string{"west", "witness"} {
				_, _ = l.run(time.Minute, "link", "heal", "east", peer)
			}
		}
	}()
	if err != nil {
		t.Fatalf("partition drill: %v", err)
	}
	d := rep.Drill
	t.Logf("partition drill at %.0f writes/s, %d workers: %s", rep.Rate, rep.Workers, d.figures())
	if d.Run == nil || d.Run.Kind != "failover" || d.Run.To != "west" || d.Run.Status != "done" {
		t.Fatalf("failover run %v: want a failover to west, done\n%s", d.Run, progress)
	}
	if d.Acked == 0 {
		t.Fatalf("the drill's client acknowledged no write: nothing was tested")
	}
	// The allowance is computed from these: the report must carry them.
	if rep.Rate <= 0 || rep.Workers <= 0 {
		t.Fatalf("the drill report carries rate %.0f and %d workers", rep.Rate, rep.Workers)
	}
	if mode == "bounded" {
		allowed := int(math.Ceil(rep.Rate*bound.Seconds())) + rep.Workers
		t.Logf("lost %d acknowledged writes %v, bounded allows %d (rate %.0f/s × %s + %d in flight); the ledger reports %d transactions",
			len(d.Lost), d.Lost, allowed, rep.Rate, bound, rep.Workers, d.RPOTransactions)
		if len(d.Lost) > allowed {
			t.Errorf("the partition lost %d acknowledged writes; bounded %s allows %d", len(d.Lost), bound, allowed)
		}
	} else {
		t.Logf("lost %d acknowledged writes (%s promises no bound); the ledger reports %d transactions", len(d.Lost), mode, d.RPOTransactions)
	}
	if d.RPOTransactions >= 0 && d.RPOTransactions < int64(len(d.Lost)) {
		t.Errorf("the ledger reports %d transactions lost; the client lost %d", d.RPOTransactions, len(d.Lost))
	}
	if d.Run.Promise == nil || d.Run.Promise.Mode != mode || d.Run.Promise.Bound != bound {
		t.Errorf("run %s's promise = %+v, want %s %s", d.Run.ID, d.Run.Promise, mode, bound)
	}
}

// waitPromise waits until east's daemon reports the set's promise in force.
func waitPromise(t *testing.T, h *hadronCLI, mode string, bound time.Duration) string {
	t.Helper()
	var summary string
	eventually(t, 3*time.Minute, "hadron status shows the promise in force", func() (bool, string) {
		st, err := h.status("east")
		if err != nil {
			return false, err.Error()
		}
		a := st.app(demoApp)
		if a == nil || a.Data == nil || a.Data.Promise == nil {
			return false, fmt.Sprintf("no promise in %+v", a)
		}
		p := a.Data.Promise
		summary = p.Summary
		wantBound := ""
		if bound > 0 {
			wantBound = bound.String()
		}
		// Async promises nothing across regions, so there is nothing to be in force.
		kept := mode == "async" || p.InForce
		ok := p.Mode == mode && p.Bound == wantBound && p.DR == "west-0" && kept && !p.Holding
		return ok, fmt.Sprintf("%+v", *p)
	})
	return summary
}

func runDataLossLab(t *testing.T, dataLoss, mode string, bound time.Duration, rate int) {
	l, h := startDataLossLab(t, dataLoss)

	// hadron status (east's daemon, the primary's site) shows the set's mode, its
	// bound and the DR member's confirmed lag, with the promise in force.
	summary := waitPromise(t, h, mode, bound)
	t.Logf("hadron status: %s", summary)
	out, _, err := h.daemons(20*time.Second, "status", "--daemon", "east")
	if err != nil || !strings.Contains(out, mode) {
		t.Errorf("hadron status (text) does not name the mode %s: %v\n%s", mode, err, out)
	}
	t.Logf("hadron status (text):\n%s", out)

	// hadron data status asks PostgreSQL itself: the keeper streams (bounded) or the
	// DR member is among those every commit waits for (synchronous).
	eventually(t, 2*time.Minute, "hadron data status shows the promise kept", func() (bool, string) {
		ss, err := h.dataStatus("shop-db")
		if err != nil {
			return false, err.Error()
		}
		p := ss.Promise
		if p == nil {
			return false, "no promise"
		}
		ok := p.Mode == mode && p.Bound == bound && p.InForce && !p.Holding && p.DR == "west-0"
		if mode == "bounded" {
			ok = ok && p.Keeper
		} else {
			ok = ok && containsString(p.Holders, "west-0")
		}
		return ok, fmt.Sprintf("%+v", *p)
	})
	ss, _ := h.dataStatus("shop-db")
	t.Logf("hadron data status: setting %s, keeper %v, holding %v, DR %s confirmed %.0f ms behind, holders %v",
		ss.Promise.Setting, ss.Promise.Keeper, ss.Promise.Holding, ss.Promise.DR, ss.Promise.ConfirmedLag*1000, ss.Promise.Holders)

	if mode == "bounded" {
		boundHolds(t, l, h)
	}

	// The region-loss drill: east is killed under load; the daemons fail over alone.
	rep, progress, err := h.drill(10*time.Minute, demoApp, "--fault", "hadron lab fail site east", "--rate", fmt.Sprint(rate))
	if err != nil {
		t.Fatalf("region-loss drill: %v", err)
	}
	d := rep.Drill
	t.Logf("drill at %.0f writes/s, %d workers: %s", rep.Rate, rep.Workers, d.figures())
	if d.Run == nil {
		t.Fatalf("the drill has no failover run\n%s", progress)
	}
	if d.Run.Kind != "failover" || d.Run.To != "west" || d.Run.Status != "done" {
		t.Fatalf("failover run %s: want a failover to west, done\n%s", d.Run, progress)
	}
	if d.Acked == 0 {
		t.Fatalf("the drill's client acknowledged no write: nothing was tested")
	}
	// The allowance is computed from these: the report must carry them.
	if rep.Rate <= 0 || rep.Workers <= 0 {
		t.Fatalf("the drill report carries rate %.0f and %d workers", rep.Rate, rep.Workers)
	}
	// What the mode allows, in writes: the bound at the drill's rate plus every write
	// in flight when the region went (none for synchronous).
	allowed := 0
	if mode == "bounded" {
		allowed = int(math.Ceil(rep.Rate*bound.Seconds())) + rep.Workers
	}
	if mode == "bounded" {
		t.Logf("lost %d acknowledged writes, bounded allows %d (rate %.0f/s × %s + %d in flight)", len(d.Lost), allowed, rep.Rate, bound, rep.Workers)
	} else {
		t.Logf("lost %d acknowledged writes, %s allows none", len(d.Lost), mode)
	}
	if len(d.Lost) > allowed {
		t.Errorf("the drill lost %d acknowledged writes %v; %s allows %d", len(d.Lost), d.Lost, mode, allowed)
	}
	if d.RPOTransactions >= 0 && d.RPOTransactions < int64(len(d.Lost)) {
		t.Errorf("the ledger reports %d transactions lost; the client lost %d", d.RPOTransactions, len(d.Lost))
	}
	// The ledger's run record carries the promise the old primary kept.
	runs, err := h.history(demoApp)
	if err != nil {
		t.Fatal(err)
	}
	var rec *runRecord
	for i := range runs {
		if runs[i].ID == d.Run.ID {
			rec = &runs[i]
		}
	}
	if rec == nil {
		t.Fatalf("the ledger has no run %s: %v", d.Run.ID, runs)
	}
	if rec.Promise == nil || rec.Promise.Mode != mode || rec.Promise.Bound != bound {
		t.Fatalf("run %s's promise = %+v, want mode %s bound %s", rec.ID, rec.Promise, mode, bound)
	}
	t.Logf("ledger run %s: promise %s bound %s in force %v holders %v", rec.ID, rec.Promise.Mode, rec.Promise.Bound, rec.Promise.InForce, rec.Promise.Holders)
}

// boundHolds shows, through the daemons, that the bound keeper is what holds commits:
// with the DR link cut, commits wait and status says so, and resume when it heals; with
// the primary's site's daemon killed no keeper streams and commits wait, until the
// restarted daemon starts it again.
func boundHolds(t *testing.T, l *lab, h *hadronCLI) {
	t.Helper()
	phase := func(name string, fault, repair []string, held func(p setPromise) bool) {
		w := startWriter("127.0.25.10:8080", name)
		defer w.stop()
		eventually(t, time.Minute, name+": writes acknowledged before the fault", func() (bool, string) {
			return w.acked.Load() > 0, fmt.Sprintf("%d acked, last error %v", w.acked.Load(), w.lastErr.Load())
		})
		l.must(time.Minute, fault...)
		var seen string
		eventually(t, 2*time.Minute, name+": hadron data status says commits wait", func() (bool, string) {
			ss, err := h.dataStatus("shop-db")
			if err != nil || ss.Promise == nil {
				return false, fmt.Sprint(err)
			}
			seen = fmt.Sprintf("%+v", *ss.Promise)
			return held(*ss.Promise), seen
		})
		atHold := w.acked.Load()
		t.Logf("%s: holding: %s (%d writes acknowledged so far)", name, seen, atHold)
		l.must(time.Minute, repair...)
		eventually(t, 2*time.Minute, name+": the promise in force again and writes acknowledged", func() (bool, string) {
			ss, err := h.dataStatus("shop-db")
			if err != nil || ss.Promise == nil {
				return false, fmt.Sprint(err)
			}
			p := ss.Promise
			return p.InForce && p.Keeper && !p.Holding && w.acked.Load() > atHold, fmt.Sprintf("%+v, %d acked", *p, w.acked.Load())
		})
		t.Logf("%s: repaired; %d writes acknowledged, %d failed", name, w.acked.Load(), w.failed.Load())
	}
	// The keeper streams, but confirms nothing new while west-0 is behind the bound.
	phase("dr-link-cut", []string{"link", "cut", "east", "west"}, []string{"link", "heal", "east", "west"},
		func(p setPromise) bool { return p.Holding && p.Keeper })
	// No daemon at east: no keeper, so FIRST 2 ("hadron_bound", ...) cannot be met.
	phase("keeper-daemon-down", []string{"fail", "daemon", "east"}, []string{"restore", "daemon", "east"},
		func(p setPromise) bool { return p.Holding && !p.Keeper })
}

// writer posts the demo's sequenced writes to one load balancer, one at a time, until
// stopped, counting what is acknowledged.
type writer struct {
	acked, failed atomic.Int64
	lastErr       atomic.Value
	quit          chan struct{}
	done          chan struct{}
}

func startWriter(addr, client string) *writer {
	w := &writer{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for seq := 1; ; seq++ {
			select {
			case <-w.quit:
				return
			default:
			}
			code, body, err := httpPost(addr, fmt.Sprintf("/write?client=%s&seq=%d", client, seq))
			if err == nil && code == 200 {
				w.acked.Add(1)
				continue
			}
			w.failed.Add(1)
			w.lastErr.Store(fmt.Sprint(code, " ", strings.TrimSpace(body), " ", err))
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return w
}

func (w *writer) stop() { close(w.quit); <-w.done }

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
