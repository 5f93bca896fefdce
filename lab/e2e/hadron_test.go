package e2e

// Helpers for the control-plane scenarios: running the hadron CLI against a lab and
// decoding what it prints with -o json. The structs below hold only the fields the
// tests read; their JSON names are those of internal/runbook.Record,
// internal/drill.Report, internal/api.Status and data.SetStatus.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/fleet"
)

// runRecord is a ledger record (internal/runbook.Record).
type runRecord struct {
	ID     string  `json:"id"`
	Kind   string  `json:"kind"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Who    string  `json:"who"`
	Tokens []int64 `json:"tokens"`
	Status string  `json:"status"`
	Error  string  `json:"error"`
	RTO    string  `json:"rto"`
	Steps  []struct {
		Name    string     `json:"name"`
		Detail  string     `json:"detail"`
		Started *time.Time `json:"started"`
		Ended   *time.Time `json:"ended"`
	} `json:"steps"`
	// Promise is the data-loss mode the old primary kept (runbook.Record.Promise).
	Promise *struct {
		Mode    string        `json:"mode"`
		Bound   time.Duration `json:"bound"`
		InForce bool          `json:"inForce"`
		Holders []string      `json:"holders"`
	} `json:"promise"`
	RPO *struct {
		Bytes        int64  `json:"bytes"`
		Transactions int64  `json:"transactions"`
		Counted      bool   `json:"counted"`
		Method       string `json:"method"`
	} `json:"rpo"`
}

func (r runRecord) String() string {
	s := fmt.Sprintf("%s %s %s→%s by %s, tokens %v: %s", r.ID, r.Kind, r.From, r.To, r.Who, r.Tokens, r.Status)
	if r.Error != "" {
		s += " (" + r.Error + ")"
	}
	return s
}

// drillPhase is one measured runbook of a drill (internal/drill.Phase).
type drillPhase struct {
	Kind            string        `json:"kind"`
	From            string        `json:"from"`
	To              string        `json:"to"`
	Run             *runRecord    `json:"run"`
	SystemRTO       time.Duration `json:"systemRTONs"`
	ClientRTO       time.Duration `json:"clientRTONs"`
	Unavailable     time.Duration `json:"unavailableNs"`
	Acked           int           `json:"acked"`
	Failed          int           `json:"failed"`
	Lost            []int64       `json:"lost"`
	RPOTransactions int64         `json:"rpoTransactions"`
	RPOBytes        int64         `json:"rpoBytes"`
	// Archive is set when the failover restored from the archive (drill.ArchiveRPO).
	Archive *struct {
		Restored       string        `json:"restored"`
		Predicted      bool          `json:"predicted"`
		LagBytes       int64         `json:"lagBytes"`
		Waiting        time.Duration `json:"waitingNs"`
		ArchiveTimeout time.Duration `json:"archiveTimeoutNs"`
		Bound          time.Duration `json:"boundNs"`
		Lost           int           `json:"lost"`
		Window         time.Duration `json:"windowNs"`
		Within         bool          `json:"within"`
	} `json:"archive"`
}

// figures is what a test logs of a phase: durations are measured, never asserted.
func (p drillPhase) figures() string {
	return fmt.Sprintf("%s %s→%s: system RTO %s, client RTO %s, longest outage %s, %d writes acked, %d failed, %d lost, RPO %d transactions / %d bytes",
		p.Kind, p.From, p.To, p.SystemRTO.Round(time.Millisecond), p.ClientRTO.Round(time.Millisecond),
		p.Unavailable.Round(time.Millisecond), p.Acked, p.Failed, len(p.Lost), p.RPOTransactions, p.RPOBytes)
}

// drillReport is one drill (internal/drill.Report).
type drillReport struct {
	App      string      `json:"app"`
	Rate     float64     `json:"rate"`
	Workers  int         `json:"workers"`
	Trigger  string      `json:"trigger"`
	Fault    string      `json:"fault"`
	Drill    drillPhase  `json:"drill"`
	Failback *drillPhase `json:"failback"`
}

// daemonStatus is a daemon's view (internal/api.Status).
type daemonStatus struct {
	Daemon string `json:"daemon"`
	Etcd   struct {
		Quorum     bool   `json:"quorum"`
		SelfFenced bool   `json:"selfFenced"`
		Error      string `json:"error"`
	} `json:"etcd"`
	Leader      string      `json:"leader"`
	LeaderToken int64       `json:"leaderToken"`
	FencedData  []string    `json:"fencedData"`
	Apps        []appStatus `json:"apps"`
}

type appStatus struct {
	Name string `json:"name"`
	Data *struct {
		Name    string `json:"name"`
		Primary string `json:"primary"`
		Promise *struct {
			Mode                string  `json:"mode"`
			Bound               string  `json:"bound"`
			InForce             bool    `json:"inForce"`
			Holding             bool    `json:"holding"`
			DR                  string  `json:"dr"`
			ConfirmedLagSeconds float64 `json:"confirmedLagSeconds"`
			Summary             string  `json:"summary"`
		} `json:"promise"`
	} `json:"data"`
	Active   string            `json:"active"`
	Verdicts map[string]string `json:"verdicts"`
	Run      *struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		To       string `json:"to"`
		Status   string `json:"status"`
		StepName string `json:"stepName"`
	} `json:"run"`
}

func (s daemonStatus) app(name string) *appStatus {
	for i := range s.Apps {
		if s.Apps[i].Name == name {
			return &s.Apps[i]
		}
	}
	return nil
}

// setPromise is how a mirror set's primary keeps its data-loss mode (data.Promise).
type setPromise struct {
	Mode         string        `json:"mode"`
	Bound        time.Duration `json:"bound"`
	Setting      string        `json:"setting"`
	InForce      bool          `json:"inForce"`
	DR           string        `json:"dr"`
	ConfirmedLag float64       `json:"confirmedLag"`
	Keeper       bool          `json:"keeper"`
	Holding      bool          `json:"holding"`
	Holders      []string      `json:"holders"`
}

// setStatus is a mirror set's live state (data.SetStatus).
type setStatus struct {
	Primary string      `json:"primary"`
	Promise *setPromise `json:"promise"`
	Members []struct {
		Member    string `json:"member"`
		Site      string `json:"site"`
		State     string `json:"state"`
		Primary   bool   `json:"primary"`
		Reachable bool   `json:"reachable"`
		Upstream  string `json:"upstream"`
		Sync      bool   `json:"sync"`
	} `json:"members"`
}

// hadronCLI runs the hadron CLI against one lab: the lab's fleet and PKI, and an
// environment in which a drill's shell commands (`hadron lab fail site east`) reach
// this lab and no other.
type hadronCLI struct {
	bin   string
	fleet string
	pki   string
	env   []string
}

func newHadronCLI(t *testing.T, labDir string) *hadronCLI {
	bin := hadronBinary(t)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HADRON_FLEET" || k == "HADRON_PKI" || k == "HADRON_LAB_DIR" || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HADRON_LAB_DIR="+labDir, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	return &hadronCLI{bin: bin, fleet: filepath.Join(labDir, "fleet.yaml"), pki: filepath.Join(labDir, "hadron-pki"), env: env}
}

// run runs `hadron ARGS` and returns its standard output and error apart.
func (h *hadronCLI) run(timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("hadron %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), err
}

// daemons runs a command that talks to the daemons: the fleet and PKI are appended.
func (h *hadronCLI) daemons(timeout time.Duration, args ...string) (string, string, error) {
	return h.run(timeout, append(args, "-f", h.fleet, "--pki", h.pki)...)
}

func decode[T any](what, out string, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil {
		return v, fmt.Errorf("%s: %w in %q", what, jerr, out)
	}
	return v, nil
}

// status is `hadron status -o json` asked of one site's daemon.
func (h *hadronCLI) status(daemon string) (daemonStatus, error) {
	out, _, err := h.daemons(20*time.Second, "status", "-o", "json", "--daemon", daemon)
	return decode[daemonStatus]("status of "+daemon, out, err)
}

// leading is the first daemon that has the majority and names a leader.
func (h *hadronCLI) leading() (daemonStatus, error) {
	var errs []string
	for _, site := range []string{"east", "west", "witness"} {
		st, err := h.status(site)
		if err == nil && st.Etcd.Quorum && st.Leader != "" {
			return st, nil
		}
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			errs = append(errs, fmt.Sprintf("%s: quorum %v, leader %q", site, st.Etcd.Quorum, st.Leader))
		}
	}
	return daemonStatus{}, fmt.Errorf("no daemon with a majority and a leader: %s", strings.Join(errs, "; "))
}

// history is the application's ledger, oldest first.
func (h *hadronCLI) history(app string) ([]runRecord, error) {
	out, _, err := h.daemons(30*time.Second, "history", app, "-o", "json")
	doc, err := decode[struct {
		Runs []runRecord `json:"runs"`
	}]("history", out, err)
	return doc.Runs, err
}

// drill runs `hadron drill APP ARGS -o json` and returns its one report; stderr (the
// drill's progress) is returned for the log.
func (h *hadronCLI) drill(timeout time.Duration, app string, args ...string) (drillReport, string, error) {
	out, progress, err := h.daemons(timeout, append([]string{"drill", app, "-o", "json"}, args...)...)
	if err != nil {
		return drillReport{}, progress, fmt.Errorf("%w\n%s%s", err, out, progress)
	}
	res, err := decode[struct {
		Drills []drillReport `json:"drills"`
	}]("drill", out, nil)
	if err != nil {
		return drillReport{}, progress, err
	}
	if len(res.Drills) != 1 {
		return drillReport{}, progress, fmt.Errorf("drill: %d reports, want 1: %s", len(res.Drills), out)
	}
	return res.Drills[0], progress, nil
}

// dataStatus is `hadron data status SET -o json`.
func (h *hadronCLI) dataStatus(set string) (setStatus, error) {
	out, _, err := h.run(30*time.Second, "data", "status", set, "-o", "json", "-f", h.fleet)
	return decode[setStatus]("data status", out, err)
}

// labFleet reads the lab's fleet file.
func labFleet(t *testing.T, path string) *fleet.Fleet {
	t.Helper()
	f, err := fleet.Load(path)
	if err != nil {
		t.Fatalf("fleet of the lab: %v", err)
	}
	return f
}

// nsAnswer asks the name server at addr (host:port) for name's A records.
func nsAnswer(addr, name string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	out, err := exec.Command("dig", "+short", "+time=1", "+tries=1", "-p", port, "@"+host, name, "A").Output()
	return strings.TrimSpace(string(out)), err
}

// daemonPID finds the `hadron serve` process whose data directory is dataDir (the lab
// starts one per site with --data-dir DIR/daemons/SITE).
func daemonPID(dataDir string) (int, error) {
	pid, err := findProc(func(args []string) bool { return flagIs(args, "--data-dir", dataDir) && slices.Contains(args, "serve") })
	if err != nil {
		return 0, fmt.Errorf("no hadron serve with --data-dir %s: %w", dataDir, err)
	}
	return pid, nil
}

// findProc is the first process whose command line match accepts.
func findProc(match func(args []string) bool) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if match(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")) {
			return pid, nil
		}
	}
	return 0, errors.New("no such process")
}

// flagIs says whether args hold flag followed by value.
func flagIs(args []string, flag, value string) bool {
	i := slices.Index(args, flag)
	return i > 0 && i+1 < len(args) && args[i+1] == value
}

// readBack is what the demo application holds of a client's writes.
type readBack struct {
	Count  int        `json:"count"`
	Ranges [][2]int64 `json:"ranges"`
}

func (r readBack) has(seq int64) bool {
	for _, rg := range r.Ranges {
		if seq >= rg[0] && seq <= rg[1] {
			return true
		}
	}
	return false
}

// tail is the last n lines of a file, for a failure's log.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
