package root

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/cli/clitest"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
)

// example is the documented example fleet: its clusters, databases and daemons are
// not reachable from here (its kubeconfig does not exist), which is what the usage
// cases need — a usage error must be found before anything is read or asked.
var example = filepath.Join("..", "..", "..", "examples", "fleet.yaml")

// grammarCase is one command as the grammar test runs it.
type grammarCase struct {
	// args run the command with -o json and -o yaml ({fleet} and {pki} are replaced).
	args []string
	// kind is the document printed (also on failure, when the command reports one);
	// "" for a command that prints none: a long-running one without -o.
	kind string
	// code is the exit code of args here: 0, or 1 for a command whose clusters or
	// databases this test does not run (it must then say why on stderr).
	code int
	// bad is a command line lacking a required argument or flag, or with one too many;
	// it must exit 2 without reading or asking anything.
	bad []string
	// check looks at the parsed document of a successful run.
	check func(t *testing.T, doc map[string]any)
}

// grammar is every command of the tree. TestGrammar fails when a command is missing.
func grammar() map[string]grammarCase {
	has := func(key string, want any) func(*testing.T, map[string]any) {
		return func(t *testing.T, doc map[string]any) {
			t.Helper()
			if got, err := json.Marshal(doc[key]); err != nil || !strings.Contains(string(got), toJSON(want)) {
				t.Errorf("%s = %s, want it to hold %s", key, got, toJSON(want))
			}
		}
	}
	return map[string]grammarCase{
		"version":  {args: []string{"version"}, kind: "Version", check: has("version", "dev"), bad: []string{"version", "extra"}},
		"validate": {args: []string{"validate", "-f", "{fleet}"}, kind: "Validation", check: has("valid", true), bad: []string{"validate", "extra"}},
		"plan":     {args: []string{"plan", "-f", "{fleet}"}, kind: "Plan", check: has("topology", "east"), bad: []string{"plan", "extra"}},
		"dns zone": {args: []string{"dns", "zone", "-f", "{fleet}"}, kind: "ZoneList", check: has("items", "shop"), bad: []string{"dns", "zone", "extra"}},
		"dns sync": {args: []string{"dns", "sync", "-f", "{fleet}", "--provider", "dnsendpoint", "--site", "east", "--dry-run"}, kind: "DNSSync", code: 1,
			bad: []string{"dns", "sync", "-f", example, "--site", "east"}},
		"dns scrub": {args: []string{"dns", "scrub", "-f", "{fleet}", "--provider", "dnsendpoint", "--site", "east", "--dry-run"}, kind: "DNSScrub", code: 1,
			bad: []string{"dns", "scrub", "-f", example, "--provider", "dnsendpoint"}},
		"dns serve": {args: []string{"dns", "serve", "-f", "{fleet}"}, bad: []string{"dns", "serve", "extra"}},
		"status":    {args: []string{"status", "-f", "{fleet}", "--pki", "{pki}"}, kind: "FleetStatus", check: has("etcd", `"quorum":true`), bad: []string{"status", "-f", example, "--daemon", "nowhere"}},
		"history":   {args: []string{"history", "shop", "-f", "{fleet}", "--pki", "{pki}"}, kind: "History", check: has("runs", []any{}), bad: []string{"history", "shop", "extra"}},
		"switchover": {args: []string{"switchover", "shop", "--to", "west", "--dry-run", "-f", "{fleet}", "--pki", "{pki}"}, kind: "RunPreview",
			check: has("preview", "standby-old"), bad: []string{"switchover", "shop", "-f", example}},
		"failover": {args: []string{"failover", "shop", "--to", "west", "--dry-run", "-f", "{fleet}", "--pki", "{pki}"}, kind: "RunPreview",
			check: has("preview", "promote"), bad: []string{"failover", "shop", "-f", example}},
		"failback": {args: []string{"failback", "shop", "--to", "west", "--dry-run", "-f", "{fleet}", "--pki", "{pki}"}, kind: "RunPreview",
			check: has("preview", "rejoin"), bad: []string{"failback", "-f", example}},
		"drill": {args: []string{"drill", "shop", "--fault", "false", "--warmup", "200ms", "-f", "{fleet}", "--pki", "{pki}"}, kind: "DrillReport", code: 1,
			bad: []string{"drill", "shop", "-f", example}},
		"check parity":       {args: []string{"check", "parity", "shop", "-f", "{fleet}"}, kind: "ParityReport", code: 1, bad: []string{"check", "parity", "shop", "extra"}},
		"check readiness":    {args: []string{"check", "readiness", "shop", "-f", "{fleet}"}, kind: "ReadinessReport", code: 1, bad: []string{"check", "readiness", "nosuchapp", "-f", example}},
		"check connectivity": {args: []string{"check", "connectivity", "shop", "-f", "{fleet}"}, kind: "ConnectivityReport", code: 1, bad: []string{"check", "connectivity", "a", "b"}},
		"replicate":          {args: []string{"replicate", "shop", "--dry-run", "-f", "{fleet}"}, kind: "ReplicationPlan", code: 1, bad: []string{"replicate", "shop", "-o", "json", "-f", example}},
		"data status":        {args: []string{"data", "status", "shop-db", "-f", example}, kind: "MirrorSetStatus", code: 1, bad: []string{"data", "status", "-f", example}},
		"data verify":        {args: []string{"data", "verify", "shop-db", "-f", example}, kind: "VerifyReport", code: 1, bad: []string{"data", "verify", "-f", example}},
		"data promote": {args: []string{"data", "promote", "shop-db", "west-0", "--dry-run", "-f", example}, kind: "PromotionPlan", code: 1,
			bad: []string{"data", "promote", "shop-db", "nobody", "-f", example}},
		"data rejoin": {args: []string{"data", "rejoin", "shop-db", "east-0", "--dry-run", "-f", example}, kind: "RejoinPlan", code: 1,
			bad: []string{"data", "rejoin", "shop-db", "-f", example}},
		"data bootstrap": {args: []string{"data", "bootstrap", "shop-db", "--dry-run", "-f", example}, kind: "BootstrapPlan", code: 1,
			bad: []string{"data", "bootstrap", "nosuchset", "-f", example}},
		"data monitor": {args: []string{"data", "monitor", "shop-db", "-f", example}, bad: []string{"data", "monitor", "-f", example}},
		"data member-start": {args: []string{"data", "member-start", "shop-db", "east-0", "-f", example},
			bad: []string{"data", "member-start", "shop-db", "-f", example}},
		"data release": {args: []string{"data", "release", "shop-db", "--dry-run", "-f", example}, kind: "ReleasePlan", code: 1,
			bad: []string{"data", "release", "-f", example}},
		"serve": {args: []string{"serve", "--site", "east", "-f", "{fleet}"}, bad: []string{"serve", "-f", example}},
		"token create": {args: []string{"token", "create", "grammar-{unique}", "--role", "read", "-f", "{fleet}", "--pki", "{pki}"}, kind: "APIToken",
			check: has("token", `"roles":["read"]`), bad: []string{"token", "create", "x", "-f", example}},
		"token list": {args: []string{"token", "list", "-f", "{fleet}", "--pki", "{pki}"}, kind: "APITokenList", bad: []string{"token", "list", "extra"}},
		"token revoke": {args: []string{"token", "revoke", "nobody", "-f", "{fleet}", "--pki", "{pki}"}, kind: "APITokenRevocation", code: 1,
			bad: []string{"token", "revoke", "-f", example}},
		// The witness's certificate is reissued while its daemon runs: it reloads it.
		"pki rotate": {args: []string{"pki", "rotate", "--ca-dir", "{pki}", "--site", "witness", "-f", "{fleet}"}, kind: "CertificateRotation",
			check: has("certificates", `"rotated":true`), bad: []string{"pki", "rotate", "-f", example}},
		"backup status": {args: []string{"backup", "status", "shop-db", "-f", example}, kind: "BackupStatus", code: 1, bad: []string{"backup", "status", "nosuchset", "-f", example}},
		"backup run": {args: []string{"backup", "run", "shop-db", "--type", "full", "-f", example}, kind: "BackupRun", code: 1,
			bad: []string{"backup", "run", "shop-db", "--type", "weekly", "-f", example}},
		"backup list": {args: []string{"backup", "list", "shop-db", "-f", example}, kind: "BackupList", code: 1, bad: []string{"backup", "list", "-f", example}},
		"backup restore": {args: []string{"backup", "restore", "shop-db", "--to-latest", "--at", "west", "-f", example}, kind: "BackupRestore", code: 1,
			bad: []string{"backup", "restore", "shop-db", "--to-latest", "--to-time", "2026-12-06T21:00:00Z", "--at", "west", "-f", example}},
		// Their output is the manifests or fleet file itself: no -o.
		"fleet export": {args: []string{"fleet", "export", "-f", "{fleet}"}, bad: []string{"fleet", "export", "extra"}},
		"fleet import": {args: []string{"fleet", "import", "-f", "{fleet}"}, bad: []string{"fleet", "import"}},
		"lab":          {}, // TestGrammar runs it apart: hadron-lab parses its own command line
	}
}

func toJSON(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// leaves are the tree's commands that run something, by path without "hadron",
// leaving out cobra's own (help, completion).
func leaves(c *cobra.Command) []string {
	var out []string
	for _, sub := range c.Commands() {
		if sub.Name() == "help" || sub.Name() == "completion" || sub.Hidden {
			continue
		}
		if sub.HasSubCommands() {
			out = append(out, leaves(sub)...)
			continue
		}
		out = append(out, strings.TrimPrefix(sub.CommandPath(), "hadron "))
	}
	sort.Strings(out)
	return out
}

// TestGrammar runs every command in-process, as the process runs it, with -o json,
// -o yaml, a bad -o and a bad command line, and checks the exit code and that the
// output parses as a document with apiVersion and kind.
func TestGrammar(t *testing.T) {
	cases := grammar()
	for _, path := range leaves(New()) {
		if _, ok := cases[path]; !ok {
			t.Errorf("hadron %s is not in the grammar test", path)
		}
	}
	// No hadron-lab: the lab commands say how to build it (and their help still works).
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HADRON_LAB_BINARY", "")

	w := daemontest.Start(t, 249, daemontest.Options{})
	w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "verdicts published", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	fills := 0 // {unique} differs at each fill: a command that creates runs more than once
	fill := func(args []string) []string {
		fills++
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.NewReplacer("{fleet}", w.FleetFile, "{pki}", w.PKI.Dir, "{unique}", fmt.Sprint(fills)).Replace(a)
		}
		return out
	}
	run := func(t *testing.T, args ...string) (string, string, int) {
		t.Helper()
		return clitest.Run(t, New(), args...)
	}

	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			if name == "lab" {
				out, errOut, code := run(t, "lab", "--help")
				if code != 0 || !strings.Contains(out, "make hadron-lab") {
					t.Errorf("lab --help without hadron-lab: exit %d\nstdout %s\nstderr %s", code, out, errOut)
				}
				out, errOut, code = run(t, "lab", "status", "-o", "json")
				if code != cli.ExitFailed || !strings.Contains(errOut, "make hadron-lab") {
					t.Errorf("lab status without hadron-lab: exit %d\nstdout %s\nstderr %s", code, out, errOut)
				}
				return
			}
			if tc.bad != nil {
				out, errOut, code := run(t, tc.bad...)
				if code != cli.ExitUsage || !strings.Contains(errOut, "for usage") {
					t.Errorf("%v: exit %d, want 2 with a usage hint\nstdout %s\nstderr %s", tc.bad, code, out, errOut)
				}
			}
			bogus := append(fill(tc.args), "-o", "bogus")
			if _, errOut, code := run(t, bogus...); code != cli.ExitUsage {
				t.Errorf("-o bogus: exit %d, want 2\n%s", code, errOut)
			}
			if tc.kind == "" {
				// A command without documents (it runs until interrupted) refuses -o.
				if _, errOut, code := run(t, append(fill(tc.args), "-o", "json")...); code != cli.ExitUsage || !strings.Contains(errOut, "unknown shorthand flag: 'o'") {
					t.Errorf("-o json: exit %d, want 2 (no -o)\n%s", code, errOut)
				}
				if tc.code == 0 {
					return
				}
			}
			for _, format := range []string{"json", "yaml"} {
				if tc.kind == "" {
					break
				}
				out, errOut, code := run(t, append(fill(tc.args), "-o", format)...)
				if code != tc.code {
					t.Fatalf("-o %s: exit %d, want %d\nstdout %s\nstderr %s", format, code, tc.code, out, errOut)
				}
				if code != 0 && !strings.Contains(errOut, "hadron: ") {
					t.Errorf("-o %s: exit %d without saying why: %q", format, code, errOut)
				}
				if tc.kind == "" || (code != 0 && out == "") {
					continue
				}
				var doc map[string]any
				var err error
				if format == "json" {
					err = json.Unmarshal([]byte(out), &doc)
				} else {
					err = yaml.Unmarshal([]byte(out), &doc)
				}
				if err != nil || doc["apiVersion"] != cli.APIVersion || doc["kind"] != tc.kind {
					t.Fatalf("-o %s: %v; apiVersion %v, kind %v, want %s %s\n%s", format, err, doc["apiVersion"], doc["kind"], cli.APIVersion, tc.kind, out)
				}
				if tc.check != nil && code == 0 {
					tc.check(t, doc)
				}
			}
		})
	}
}

// The old spellings go on working, saying the new one; a variable that gives a flag its
// default and does not parse is a usage error.
func TestOldSpellingsAndVariables(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"data", "status", "shop-db", "--fleet", example}, 1, "Flag --fleet has been deprecated, use --file"},
		{[]string{"data", "promote", "shop-db", "west-0", "--dry-run", "--daemon-timeout", "1s", "-f", example}, 1, "Flag --daemon-timeout has been deprecated, use --request-timeout"},
		{[]string{"switchover", "shop", "--to", "nowhere", "--wait", "1m", "-f", example}, 2, "Flag --wait has been deprecated, use --timeout"},
		{[]string{"data", "status", "shop-db", "-o", "table", "-f", example}, 1, "kubeconfig"},
	} {
		// cobra says a flag is deprecated on stderr, or on the output a test set.
		out, errOut, code := clitest.Run(t, New(), tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}

	t.Setenv(cli.EnvRequestTimeout, "soon")
	_, errOut, code := clitest.Run(t, New(), "status", "-f", example)
	if code != cli.ExitUsage || !strings.Contains(errOut, `$HADRON_REQUEST_TIMEOUT="soon"`) {
		t.Errorf("unparsable $%s: exit %d, stderr %q", cli.EnvRequestTimeout, code, errOut)
	}
	if _, errOut, code := clitest.Run(t, New(), "status", "-f", example, "--request-timeout", "1s", "--pki", t.TempDir()); code != cli.ExitFailed {
		t.Errorf("--request-timeout given: exit %d, want 1 (no credentials here), stderr %q", code, errOut)
	}
}

// The shell completes the names a command takes from the fleet -f names.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"switchover", ""}, []string{"shop"}},
		{[]string{"switchover", "shop", "--to", ""}, []string{"east", "west", "witness"}},
		{[]string{"data", "promote", ""}, []string{"shop-db"}},
		{[]string{"data", "promote", "shop-db", "e"}, []string{"east-0", "east-1"}},
		{[]string{"status", "--daemon", "w"}, []string{"west", "witness"}},
		{[]string{"history", "-o", "y"}, []string{"yaml"}},
	} {
		args := append([]string{"__complete", "-f", example}, tc.args...)
		out, errOut, code := clitest.Run(t, New(), args...)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, ":") {
				got = append(got, line)
			}
		}
		if code != 0 || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("complete %v: exit %d, %q, want %q\n%s", tc.args, code, got, tc.want, errOut)
		}
	}
}
