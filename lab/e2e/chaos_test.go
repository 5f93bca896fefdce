package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/lab/internal/chaosrun"
)

// chaosConfig runs the chaos test's lab on regions 29, 30 and 31 (lab/internal/controlplane's
// tests take 127.0.9.x, and go test runs the two packages at once).
var chaosConfig = labYAML(29, "35ms")

// chaosSeeds are the fixed-seed 3-minute runs `make test` includes, one after the
// other in one lab; each is the regression run of bugs it once found
// (docs/design/chaos.md): 45 fails east (a failover fences it), restores the witness
// site and kills the witness's daemon — a restarted daemon's name server answered the
// fenced east from the state it held before reading etcd; 11 kills the leader
// right after east comes back — a rejoin cut off with the leader's term left the
// former primary stopped, and nobody rejoined it.
var chaosSeeds = []uint64{45, 11}

// TestChaos runs the fixed-seed 3-minute chaos schedules against a fresh lab under load
// and fails on any violation of the checker's invariants, printing the reports.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	// Seed 7's first run found two bugs (a restarted daemon's name server answered
	// from stale state; a rejoin cut off by a cancelled context left the former primary
	// stopped, never retried): it is kept as the fixed seed, their regression run.
	l := startDemoLab(t, chaosConfig, "127.0.29.10:8080", 100)
	// Each run waits for the fleet to be whole before its first fault.
	for _, seed := range chaosSeeds {
		out, err := l.run(20*time.Minute, "chaos", "--seed", fmt.Sprint(seed), "--duration", "3m", "-o", "json")
		var rep chaosrun.Report
		if jerr := json.Unmarshal([]byte(jsonPart(out)), &rep); jerr != nil || rep.Result == nil {
			t.Fatalf("chaos seed %d: %v (decode: %v)\n%s", seed, err, jerr, out)
		}
		var text strings.Builder
		_ = rep.Text(&text)
		t.Logf("chaos seed %d:\n%s", seed, text.String())
		if len(rep.History.Faults) == 0 || rep.Result.Writes == 0 || rep.Result.Acked == 0 {
			t.Fatalf("seed %d injected %d faults and acknowledged %d of %d writes: nothing was tested", seed, len(rep.History.Faults), rep.Result.Acked, rep.Result.Writes)
		}
		if !rep.Result.OK() || err != nil {
			t.Fatalf("chaos seed %d: %d violations (exit %v)", seed, len(rep.Result.Violations), err)
		}
	}
}

// jsonPart is the document in out, which also holds the progress lines of stderr.
func jsonPart(out string) string {
	i := strings.Index(out, "{\n")
	j := strings.LastIndex(out, "}")
	if i < 0 || j < i {
		return out
	}
	return out[i : j+1]
}
