package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/lab/internal/world"
)

// memberPodsConfig is a lab whose members run as pods: east's (primary east-0,
// synchronous east-1) on east's two real nodes, west's DR member west-0 on a real node
// of west, on regions 57-59 (pods in 10.244.57-58.0/24), away from the other lab
// tests' regions. With the daemons: the leader's in-region
// monitor fails over and asks the pods (memberpods) for rewinds. With backups: each
// member archives from its pod to the store in the witness's region.
const memberPodsConfig = `
firstRegion: 57
latency: 10ms
realNodes: 2
memberPods: true
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 1}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 1}
  - {name: witness, region: eu-central-1, role: witness}
`

// memberPodsEastDemo is east's demo application process. Its load balancer is not
// the way in here: on a site with real nodes it serves only from the pods of
// demo/pods, or from the process while simulated replicas are ready, and this lab
// applies neither; the database path is the same.
const memberPodsEastDemo = "127.0.57.30:8080"

// TestMemberPods runs the demo's members as PostgreSQL pods in two clusters (a
// StatefulSet each, a local volume, `hadron data member-start` readying the data
// directory) and checks that the set bootstraps (west's DR member's pod clones through
// its site's gateway and the link), that `hadron data status` shows the roles, that
// deleting the primary's pod under a write load fails over to east-1 with no
// acknowledged write lost, the old primary coming back as east-1's stand-by by itself
// (the daemons' memberpods names east-1 in the pods' instructions, or asks the pod for
// a rebuild; its start step rewinds), that draining the new primary's node does the
// same the other way once the node is uncordoned, that killing the primary's server in
// its container (`hadron lab fail process`) does the same while the kubelet restarts
// the container, and that a region loss fails over to west-0's pod and back (seed 000
// with members in pods: roles shown, a marker read on all three). It logs the
// failovers' times. Needs what TestRealNodes needs; without it, it skips.
func TestMemberPods(t *testing.T) {
	skipWithoutRealNodes(t)
	l := upLab(t, memberPodsConfig, 15*time.Minute, "members in pods", func(l *lab) {
		l.dumpRealNodeLogs(80)
		l.dumpPodLogs(60, "shop", "shop-db-")
	})
	h := newHadronCLI(t, l.dir)
	east := l.siteClient(t, "east")
	ctx := context.Background()

	west := l.siteClient(t, "west")
	t.Run("the set bootstraps with its members in pods in two clusters", func(t *testing.T) {
		for member, node := range map[string]string{"east-0": "east-real-0", "east-1": "east-real-1", "west-0": "west-real-0"} {
			c := east
			if strings.HasPrefix(member, "west") {
				c = west
			}
			p, err := c.CoreV1().Pods("shop").Get(ctx, world.MemberPod(member), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("pod of %s: %v", member, err)
			}
			if p.Spec.NodeName != node {
				t.Errorf("pod of %s on %q, want %s", member, p.Spec.NodeName, node)
			}
			t.Logf("%s: pod %s on %s at %s", member, p.Name, p.Spec.NodeName, p.Status.PodIP)
		}
		waitRoles(t, h, "east-0", map[string]string{"east-1": "east-0", "west-0": "east-0"}, "east-1")
	})

	var bootTimeline string
	t.Run("the primary's pod archives to the object store and takes the first full backup by itself", func(t *testing.T) {
		eventually(t, 4*time.Minute, "the first full backup in the store, nothing waiting", func() (bool, string) {
			st, raw := h.backupStatus(20 * time.Second)
			bootTimeline = timelineOf(st.Archive.LastArchived)
			return st.Archive.Primary == "east-0" && st.Backups >= 1 && st.Archive.Waiting == 0 && st.RepoError == "" && bootTimeline != "", raw
		})
	})

	t.Run("deleting the primary's pod under load: the daemons fail over in-region, losing no acknowledged write, and the old primary's pod rejoins by itself", func(t *testing.T) {
		failoverUnderLoad(t, l, h, "east-0", "east-1", func() {
			if err := east.CoreV1().Pods("shop").Delete(ctx, world.MemberPod("east-0"), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil)
		// Only the daemons' memberpods writes the instructions here (no lab monitor):
		// the pods now follow east-1.
		cm, err := east.CoreV1().ConfigMaps("shop").Get(ctx, world.MemberPodsConfig, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data["primary"] != "east-1" {
			t.Errorf("%s names primary %q, want east-1 (the daemons' memberpods)", world.MemberPodsConfig, cm.Data["primary"])
		}
		t.Logf("instructions after the failover: primary %q, rebuild.east-0 %q", cm.Data["primary"], cm.Data["rebuild.east-0"])
	})

	t.Run("draining the primary's node under load fails over in-region; uncordoned, the old primary comes back as a stand-by", func(t *testing.T) {
		// east-1, primary since the last subtest, runs on east-real-1. Its volume is
		// local: the evicted pod's replacement can only run there, so it waits,
		// Pending, until the node is uncordoned.
		failoverUnderLoad(t, l, h, "east-1", "east-0", func() {
			out := l.must(3*time.Minute, "drain", "node", "east-real-1")
			t.Logf("drain: %s", strings.TrimSpace(out))
		}, func() {
			p, err := east.CoreV1().Pods("shop").Get(ctx, world.MemberPod("east-1"), metav1.GetOptions{})
			if err == nil {
				t.Logf("east-1's pod while east-real-1 is cordoned: phase %s, node %q", p.Status.Phase, p.Spec.NodeName)
			}
			l.must(3*time.Minute, "restore", "node", "east-real-1")
		})
	})

	t.Run("killing the primary's server in its container under load fails over in-region; the kubelet restarts the container and the old primary comes back as a stand-by", func(t *testing.T) {
		// east-0 is primary again since the drain.
		failoverUnderLoad(t, l, h, "east-0", "east-1", func() {
			out := l.must(time.Minute, "fail", "process", "east-0")
			t.Logf("fail process: %s", strings.TrimSpace(out))
		}, nil)
		p, err := east.CoreV1().Pods("shop").Get(ctx, world.MemberPod("east-0"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		restarts := int32(0)
		for _, c := range p.Status.ContainerStatuses {
			restarts += c.RestartCount
		}
		if restarts == 0 {
			t.Errorf("pod %s: no container restart after its server was killed", p.Name)
		}
		t.Logf("pod %s: %d container restarts (the same pod, on %s)", p.Name, restarts, p.Spec.NodeName)
	})

	t.Run("every member's pod deleted at once under load: the primary's pod holds at its start, the daemons promote the synchronous member, the set heals by itself", func(t *testing.T) {
		// east-1 is primary since the killed server, east-0 its synchronous member.
		// Every pod restarts not knowing whether another member was promoted: east-1
		// holds (a stand-by of nobody), the others follow it; the daemons, which saw
		// east-0 synchronous, promote it and rejoin east-1.
		failoverUnderLoad(t, l, h, "east-1", "east-0", func() {
			for member, c := range map[string]kubernetes.Interface{"east-0": east, "east-1": east, "west-0": west} {
				if err := c.CoreV1().Pods("shop").Delete(ctx, world.MemberPod(member), metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, nil)
	})

	t.Run("a region loss fails over to west-0's pod in west's cluster and back; the marker reaches all three", func(t *testing.T) {
		// The drill writes through the main name: east's load balancer serves the
		// application's process while the manifests' simulated replicas are ready.
		l.applyDemoAtEast(t, labFleet(t, h.fleet).Site("east").Spec.LoadBalancers[0].Address)
		eventually(t, 3*time.Minute, "west holds the demo's objects", func() (bool, string) {
			out, _, err := h.run(30*time.Second, "check", "readiness", "-f", h.fleet, demoApp)
			return err == nil, fmt.Sprint(err, out)
		})
		since := time.Now()
		regionLossAndFailback(t, l, h)
		l.logFailoverSteps(since)
		// The failback promotes whichever east member is ahead; the other east member
		// must come back as its synchronous stand-by, west-0 as its DR member.
		ds, err := h.dataStatus(demoSet)
		if err != nil {
			t.Fatal(err)
		}
		primary, other := ds.Primary, map[string]string{"east-0": "east-1", "east-1": "east-0"}[ds.Primary]
		if other == "" {
			t.Fatalf("after the failback the primary is %q, want an east member", ds.Primary)
		}
		waitRoles(t, h, primary, map[string]string{other: primary, "west-0": primary}, other)
		out, _, err := h.run(time.Minute, "data", "verify", demoSet, "-o", "json", "-f", h.fleet)
		t.Logf("hadron data verify %s:\n%s", demoSet, out)
		v, err := decode[data.VerifyResult]("data verify", out, err)
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK() || len(v.Members) != 3 {
			t.Fatalf("marker %s on %s not read on every member: %+v", v.Marker, v.Primary, v.Members)
		}
		for _, m := range v.Members {
			t.Logf("marker %s seen on %s after %s", v.Marker, m.Member, m.After)
		}
		// The archiving followed every promotion: the failback's primary archives
		// its own timeline from its pod (a segment within archive_timeout, 30 s).
		eventually(t, 2*time.Minute, "the failback's primary archives on a later timeline", func() (bool, string) {
			st, raw := h.backupStatus(20 * time.Second)
			tli := timelineOf(st.Archive.LastArchived)
			return st.Archive.Primary == primary && st.RepoError == "" && st.Backups >= 1 && tli > bootTimeline, raw
		})
	})
}

// timelineOf is the timeline part of a WAL file name ("00000003" of
// 000000030000000000000007, ordered as hex of fixed width), or "" for another name.
func timelineOf(walfile string) string {
	if len(walfile) < 24 {
		return ""
	}
	return walfile[:8]
}

// failoverUnderLoad writes through east's demo application, applies fault to the
// primary from, and checks that to becomes primary, that writes are acknowledged
// again, that from comes back as to's synchronous stand-by (after heal, if any) and
// that no acknowledged write is lost. It logs the times.
func failoverUnderLoad(t *testing.T, l *lab, h *hadronCLI, from, to string, fault, heal func()) {
	t.Helper()
	ctx := context.Background()
	var (
		mu        sync.Mutex
		acked     int
		faulted   time.Time
		lastOK    time.Time // last acknowledged write sent before the fault
		firstBack time.Time // first acknowledged write sent after a failure
		failed    int
	)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	type outcome struct {
		res *load.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := load.Run(lctx, load.Config{URL: "http://" + memberPodsEastDemo, Rate: 20, Workers: 4, Duration: 10 * time.Minute,
			Timeout: 2 * time.Second, OnAttempt: func(a load.Attempt) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case a.OK && (faulted.IsZero() || a.Sent.Before(faulted)):
					acked++
					if a.Sent.After(lastOK) {
						lastOK = a.Sent
					}
				case a.OK:
					acked++
					if failed > 0 && firstBack.IsZero() {
						firstBack = a.Done
					}
				case !faulted.IsZero():
					failed++
				}
			}})
		done <- outcome{res, err}
	}()
	eventually(t, time.Minute, "writes acknowledged before the fault", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return acked >= 20, fmt.Sprintf("%d acknowledged", acked)
	})
	mu.Lock()
	faulted = time.Now()
	mu.Unlock()
	fault()
	var promoted time.Duration
	eventually(t, 3*time.Minute, to+" primary", func() (bool, string) {
		ss, err := h.dataStatus("shop-db")
		if err != nil {
			return false, err.Error()
		}
		if ss.Primary == to {
			promoted = time.Since(faulted)
			return true, ""
		}
		return false, fmt.Sprintf("primary %q", ss.Primary)
	})
	eventually(t, time.Minute, "writes acknowledged again", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return !firstBack.IsZero() || failed == 0, fmt.Sprintf("%d failed since the fault", failed)
	})
	var healed time.Duration
	if heal != nil {
		heal()
		healed = time.Since(faulted)
	}
	waitRoles(t, h, to, map[string]string{from: to, "west-0": to}, from)
	rejoined := time.Since(faulted)
	// Writes after the old primary's return too.
	time.Sleep(2 * time.Second)
	stop()
	o := <-done
	if o.err != nil {
		t.Fatalf("load: %v", o.err)
	}
	vctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := load.Verify(vctx, nil, o.res)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if v.Acked == 0 {
		t.Fatal("no write acknowledged: nothing was tested")
	}
	outage := "no write failed"
	if !firstBack.IsZero() {
		outage = fmt.Sprintf("writes failed for %s (last acknowledged write sent %s before the fault, first acknowledged again %s after it)",
			firstBack.Sub(lastOK).Round(10*time.Millisecond), faulted.Sub(lastOK).Round(10*time.Millisecond), firstBack.Sub(faulted).Round(10*time.Millisecond))
	}
	back := ""
	if heal != nil {
		back = fmt.Sprintf(" (healed %s after the fault)", healed.Round(100*time.Millisecond))
	}
	t.Logf("in-region failover with members in pods: %s primary %s after the fault; %s; %s back as %s's stand-by %s after the fault%s",
		to, promoted.Round(10*time.Millisecond), outage, from, to, rejoined.Round(100*time.Millisecond), back)
	t.Logf("load: %d acknowledged, %d failed, %d present, %d unacknowledged but committed, lost %v", v.Acked, failed, v.Present, v.Unacknowledged, v.Lost)
	if len(v.Lost) > 0 {
		t.Errorf("%d acknowledged writes lost: %v", len(v.Lost), v.Lost)
	}
	l.logFailoverSteps(faulted)
}

// logFailoverSteps logs what the daemons' monitor and the members' start steps did
// since the fault: where the failover's time went.
func (l *lab) logFailoverSteps(since time.Time) {
	var lines []string
	keep := func(line string) bool {
		for _, w := range []string{"data-monitor", "member-pods", "promoted", "member pod start", "pg_rewind", "data directory ready", "synchronous standbys"} {
			if strings.Contains(line, w) {
				return true
			}
		}
		return false
	}
	read := func(path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if keep(line) {
				lines = append(lines, line)
			}
		}
	}
	read(world.Dir(l.dir).Log())
	daemons, _ := filepath.Glob(world.Dir(l.dir).ProcLog("hadron-*"))
	for _, p := range daemons {
		read(p)
	}
	pods, _ := filepath.Glob(filepath.Join(world.Dir(l.dir).Site("*"), "nodes", "*", "pod-logs", "shop_shop-db-*", "postgres", "*.log"))
	for _, p := range pods {
		read(p)
	}
	l.t.Logf("failover steps since %s:\n%s", since.UTC().Format("15:04:05.000"), strings.Join(lines, "\n"))
}

// waitRoles waits until `hadron data status` names primary, every other member
// streams from the upstream given, and sync is the primary's synchronous stand-by.
func waitRoles(t *testing.T, h *hadronCLI, primary string, upstream map[string]string, sync string) {
	t.Helper()
	var last string
	eventually(t, 4*time.Minute, "hadron data status: "+primary+" primary, the others streaming from it", func() (bool, string) {
		ss, err := h.dataStatus("shop-db")
		if err != nil {
			return false, err.Error()
		}
		var b strings.Builder
		ok := ss.Primary == primary
		fmt.Fprintf(&b, "primary %q;", ss.Primary)
		for _, m := range ss.Members {
			fmt.Fprintf(&b, " %s: %s upstream %q sync %v;", m.Member, m.State, m.Upstream, m.Sync)
			if want, in := upstream[m.Member]; in && (m.State != "streaming" || m.Upstream != want) {
				ok = false
			}
			if m.Member == sync && !m.Sync {
				ok = false
			}
		}
		last = b.String()
		return ok, last
	})
	t.Logf("hadron data status: %s", last)
}
