// Package e2e drives whole labs through the hadron-lab binary, as a user would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/lab/internal/world"
)

// labYAML is a test lab of east, west and a witness, each with a daemon, on regions
// firstRegion.. (127.0.firstRegion.0/24 ...), beside any lab the user has running on
// the default 127.0.1-3 ranges.
func labYAML(firstRegion int, latency string) string {
	return fmt.Sprintf(`
firstRegion: %d
latency: %s
daemons: true
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 2}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 2}
  - {name: witness, region: eu-central-1, role: witness}
`, firstRegion, latency)
}

// labConfig runs TestLabEndToEnd's lab on regions 5, 6 and 7.
var labConfig = labYAML(5, "20ms")

const (
	eastLB            = "127.0.5.10:8080"
	westLB            = "127.0.6.10:8080"
	eastLBFromWitness = "127.7.5.10:8080"
)

// binary finds a built binary: $NAME_BINARY, else ../../bin/NAME (make build puts it there).
func binary(t *testing.T, name, env string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not built (%v): run `make build` first, or set %s", name, err, env)
	}
	return p
}

func hadronBinary(t *testing.T) string { return binary(t, "hadron", "HADRON_BINARY") }

type lab struct {
	t   *testing.T
	bin string
	dir string
}

// upLab brings up a lab of config (lab.yaml's text) and takes it down when the test
// ends, after dump when the test failed; what is names the lab in the log.
// applyDemoAtEast applies demo/manifests to east, as a user would (the lab applies
// nothing by itself), and waits until lb, east's load balancer, serves /healthz.
func (l *lab) applyDemoAtEast(t *testing.T, lb string) {
	t.Helper()
	manifests, _ := filepath.Abs(filepath.Join("..", "..", "demo", "manifests"))
	l.must(2*time.Minute, "apply", "--site", "east", "-f", manifests)
	eventually(t, 3*time.Minute, "east's load balancer serves the demo", func() (bool, string) {
		code, body, err := httpGet(lb, "/healthz")
		return code == 200, fmt.Sprint(code, body, err)
	})
}

func upLab(t *testing.T, config string, timeout time.Duration, what string, dump func(l *lab)) *lab {
	t.Helper()
	l := &lab{t: t, bin: binary(t, "hadron-lab", "HADRON_LAB_BINARY"), dir: filepath.Join(t.TempDir(), "lab")}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dump(l)
		}
		if out, err := l.run(3*time.Minute, "down"); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	out := l.must(timeout, "up", "--config", cfg)
	t.Logf("lab with %s up in %s:\n%s", what, time.Since(start).Round(time.Second), out)
	return l
}

func (l *lab) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, append(args, "--dir", l.dir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (l *lab) must(timeout time.Duration, args ...string) string {
	l.t.Helper()
	out, err := l.run(timeout, args...)
	if err != nil {
		l.t.Fatalf("hadron-lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (l *lab) status() world.Status {
	l.t.Helper()
	out := l.must(30*time.Second, "status", "-o", "json")
	var st world.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		l.t.Fatalf("status -o json: %v\n%s", err, out)
	}
	return st
}

// dumpLogs prints the last n lines of the supervisor's and every daemon's log, so a
// failure in CI says what the lab and hadron did.
func (l *lab) dumpLogs(n int) {
	l.dumpLogsOf(n, func(name string) bool { return strings.Contains(name, "hadron") })
}

// dumpLogsOf prints the last n lines of the supervisor's log and of the process logs
// whose file name keep accepts.
func (l *lab) dumpLogsOf(n int, keep func(name string) bool) {
	logs, _ := filepath.Glob(filepath.Join(world.Dir(l.dir).Logs(), "*.log"))
	for _, p := range append([]string{world.Dir(l.dir).Log()}, logs...) {
		name := filepath.Base(p)
		if p != world.Dir(l.dir).Log() && !keep(name) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		l.t.Logf("--- last %d lines of %s:\n%s", len(lines), name, strings.Join(lines, "\n"))
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	eventuallyExplained(t, timeout, what, cond, nil)
}

// eventuallyExplained is eventually whose failure message also carries explain's
// answer (what hadron says of the state), taken when the deadline has passed.
func eventuallyExplained(t *testing.T, timeout time.Duration, what string, cond func() (bool, string), explain func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(300 * time.Millisecond)
	}
	why := ""
	if explain != nil {
		why = "\n" + explain()
	}
	t.Fatalf("%s: not after %s (last: %s)%s", what, timeout, last, why)
}

// hadronSays is what hadron tells of app: its ledger (`hadron history APP -o yaml`)
// and the daemons' status (`hadron status -o yaml`), for a failure's message.
func (l *lab) hadronSays(t *testing.T, app string) string {
	t.Helper()
	h := newHadronCLI(t, l.dir)
	var b strings.Builder
	for _, args := range [][]string{{"history", app, "-o", "yaml"}, {"status", "-o", "yaml"}} {
		out, errOut, err := h.daemons(30*time.Second, args...)
		fmt.Fprintf(&b, "--- hadron %s (err %v):\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return b.String()
}

func httpGet(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func httpPost(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post("http://"+addr+path, "text/plain", nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// listening lists the TCP listeners on the test lab's address ranges.
func listening(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ss", "-ltnH").Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		addr := f[3]
		for _, prefix := range []string{"127.0.5.", "127.0.6.", "127.0.7.", "127.5.", "127.6.", "127.7."} {
			if strings.HasPrefix(addr, prefix) {
				found = append(found, addr)
			}
		}
	}
	return found
}

func TestLabEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	l := &lab{t: t, bin: binary(t, "hadron-lab", "HADRON_LAB_BINARY"), dir: filepath.Join(t.TempDir(), "lab")}
	if left := listening(t); len(left) > 0 {
		t.Fatalf("addresses of the test lab are already in use: %v", left)
	}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(labConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpLogs(200) // a failure before the last subtest's down
		}
		if out, err := l.run(3*time.Minute, "down"); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out)
		}
	})

	start := time.Now()
	out := l.must(10*time.Minute, "up", "--config", cfg)
	t.Logf("lab up in %s:\n%s", time.Since(start).Round(time.Second), out)

	t.Run("starting twice is refused", func(t *testing.T) {
		out, err := l.run(time.Minute, "up", "--config", cfg)
		if err == nil || !strings.Contains(out, "already running") {
			t.Fatalf("second up: err=%v\n%s", err, out)
		}
	})

	t.Run("status", func(t *testing.T) {
		st := l.status()
		if st.Phase != world.PhaseReady {
			t.Fatalf("phase %s: %s", st.Phase, st.Error)
		}
		for _, s := range st.Sites {
			if s.Role != "workload" {
				continue
			}
			if !strings.HasPrefix(s.ControlPlane, "ok") {
				t.Errorf("site %s control plane: %q", s.Name, s.ControlPlane)
			}
			if len(s.Zones) != 3 {
				t.Errorf("site %s zones: %+v", s.Name, s.Zones)
			}
			for _, z := range s.Zones {
				if z.Ready != 2 || z.Total != 2 {
					t.Errorf("site %s zone %s: %d/%d ready", s.Name, z.Zone, z.Ready, z.Total)
				}
			}
		}
		// Three links between the regions, and east's and west's to the object store.
		if len(st.Links) != 5 {
			t.Errorf("links: %+v", st.Links)
		}
		for _, p := range []string{st.Kubeconfig, st.Fleet} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("status names %s: %v", p, err)
			}
		}
	})

	t.Run("demo application answers through east's load balancer", func(t *testing.T) {
		l.applyDemoAtEast(t, eastLB)
		code, body, err := httpPost(eastLB, "/write?client=e2e&seq=1")
		if err != nil || code != 200 {
			t.Fatalf("write: %d %s %v", code, body, err)
		}
		code, body, err = httpGet(eastLB, "/read?client=e2e")
		if err != nil || code != 200 || !strings.Contains(body, `"count":1`) {
			t.Fatalf("read: %d %s %v", code, body, err)
		}
		// The stand-by has no pods of the application: its load balancer says so.
		code, _, err = httpGet(westLB, "/healthz")
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("west load balancer: %d %v, want 503", code, err)
		}
	})

	t.Run("every region's name server answers the main name with east", func(t *testing.T) {
		for _, ns := range []string{"127.0.5.40", "127.0.6.40", "127.0.7.40"} {
			eventually(t, time.Minute, "answer from "+ns, func() (bool, string) {
				out, err := exec.Command("dig", "+short", "+time=1", "+tries=1", "@"+ns, "shop.gslb.example.com", "A").Output()
				got := strings.TrimSpace(string(out))
				return err == nil && got == "127.0.5.10", fmt.Sprintf("%q %v", got, err)
			})
		}
		st := l.status()
		out, err := exec.Command(hadronBinary(t), "status", "-f", st.Fleet, "--pki", filepath.Join(l.dir, "hadron-pki"), "-o", "json").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"leader"`) {
			t.Fatalf("hadron status: %v\n%s", err, out)
		}
	})

	// The link cut is east–witness. A cut of east–west is a partition of east from
	// etcd's raft leader, which hadron keeps at its leader's member (west, the
	// stand-by): past coord.DefaultFenceAfter (2 s: two hadron-lab runs on a loaded
	// machine) east self-fences by design, its primary turns read-only and the quorum
	// fails shop over to west — the control-plane test's partition scenario. This
	// case checks the lab's links, and the next one needs shop still at east.
	t.Run("cut link stops TCP and heal restores it", func(t *testing.T) {
		if code, _, err := httpGet(eastLBFromWitness, "/healthz"); err != nil || code != 200 {
			t.Fatalf("east from the witness before the cut: %d %v", code, err)
		}
		l.must(time.Minute, "link", "cut", "east", "witness")
		if c, err := net.DialTimeout("tcp", eastLBFromWitness, 2*time.Second); err == nil {
			c.Close()
			t.Fatal("TCP connected through a cut link")
		}
		if code, _, err := httpGet(eastLB, "/healthz"); err != nil || code != 200 {
			t.Fatalf("east inside its region during the cut: %d %v", code, err)
		}
		l.must(time.Minute, "link", "heal", "east", "witness")
		eventuallyExplained(t, 30*time.Second, "east from the witness after heal", func() (bool, string) {
			code, body, err := httpGet(eastLBFromWitness, "/healthz")
			return code == 200, fmt.Sprint(code, body, err)
		}, func() string { return l.hadronSays(t, "shop") })
	})

	t.Run("the mirror set archives to the object store; its link cut holds east's archiving back", func(t *testing.T) {
		archivesToTheObjectStore(t, l)
	})

	t.Run("failed site stops answering, hadron fails over, the site comes back", func(t *testing.T) {
		// hadron fails over automatically only what its quorum has found served at the
		// active site (runbook.AutoDecide: a site never seen up has nothing to fail
		// over). The load balancer answering this test is not the quorum's verdict:
		// on a loaded machine the observers' rise can come seconds later.
		h := newHadronCLI(t, l.dir)
		eventually(t, 2*time.Minute, "east up by hadron's quorum before the fault", func() (bool, string) {
			st, err := h.leading()
			if err != nil {
				return false, err.Error()
			}
			a := st.app("shop")
			return a != nil && a.Verdicts["east"] == "up", fmt.Sprintf("%+v", a)
		})
		l.must(3*time.Minute, "fail", "site", "east")
		if _, _, err := httpGet(eastLB, "/healthz"); err == nil {
			t.Fatal("east's load balancer answers while the site is failed")
		}
		st := l.status()
		if !st.Sites[0].Failed {
			t.Errorf("status does not show east failed: %+v", st.Sites[0])
		}
		// The lab's policy fails over automatically: west takes the application and the
		// write made before the fault is there (it reached the DR member long before).
		eventuallyExplained(t, 3*time.Minute, "west serves after the automatic failover", func() (bool, string) {
			code, body, err := httpGet(westLB, "/read?client=e2e")
			return code == 200 && strings.Contains(body, `"count":1`), fmt.Sprint(code, body, err)
		}, func() string { return l.hadronSays(t, "shop") })
		l.must(6*time.Minute, "restore", "site", "east")
		eventually(t, 3*time.Minute, "east's control plane back after restore", func() (bool, string) {
			st := l.status()
			return !st.Sites[0].Failed && strings.HasPrefix(st.Sites[0].ControlPlane, "ok"), fmt.Sprintf("%+v", st.Sites[0])
		})
		// East came back as the stand-by: it does not take the application back by itself.
		code, body, err := httpGet(westLB, "/read?client=e2e")
		if err != nil || code != 200 || !strings.Contains(body, `"count":1`) {
			t.Fatalf("read at west after east's restore: %d %s %v", code, body, err)
		}
	})

	// The logs go with the lab: print them while it is still there.
	if t.Failed() {
		t.Log(l.hadronSays(t, "shop"))
		l.dumpLogs(200)
	}

	t.Run("down leaves no process and no listening port", func(t *testing.T) {
		pid := world.Dir(l.dir).SupervisorPID()
		l.must(3*time.Minute, "down")
		if pid != 0 {
			if err := exec.Command("kill", "-0", fmt.Sprint(pid)).Run(); err == nil {
				t.Errorf("supervisor %d still alive", pid)
			}
		}
		if left := listening(t); len(left) > 0 {
			t.Errorf("still listening after down: %v", left)
		}
		out, _ := exec.Command("pgrep", "-f", l.dir).Output()
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("processes of the lab left: %s", s)
		}
		if _, err := os.Stat(l.dir); !os.IsNotExist(err) {
			t.Errorf("lab dir not removed: %v", err)
		}
	})
}
