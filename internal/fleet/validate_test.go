package fleet

import (
	"os"
	"strings"
	"testing"
)

// edit replaces the first occurrence of old in the base fleet with new; an empty old
// appends new as further documents.
type edit struct{ old, new string }

func baseFleet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func applyEdits(t *testing.T, base string, edits []edit) string {
	t.Helper()
	for _, e := range edits {
		if e.old == "" {
			base += "---\n" + e.new
			continue
		}
		if !strings.Contains(base, e.old) {
			t.Fatalf("edit %q: not in the base fleet", e.old)
		}
		base = strings.Replace(base, e.old, e.new, 1)
	}
	return base
}

func problems(t *testing.T, text string) []string {
	t.Helper()
	_, err := Parse(Source{Name: "fleet.yaml", Data: []byte(text)})
	if err == nil {
		return nil
	}
	list, ok := AsErrors(err)
	if !ok {
		t.Fatalf("error is not *Errors: %v", err)
	}
	out := make([]string, len(list))
	for i, fe := range list {
		out[i] = fe.Error()
	}
	return out
}

func TestBaseFleetIsValid(t *testing.T) {
	if got := problems(t, baseFleet(t)); len(got) != 0 {
		t.Fatalf("base fleet has problems:\n%s", strings.Join(got, "\n"))
	}
}

const (
	app  = `fleet.yaml: Application "shop": `
	set  = `fleet.yaml: MirrorSet "shop-db": `
	east = `fleet.yaml: Site "east": `
	west = `fleet.yaml: Site "west": `
	wit  = `fleet.yaml: Site "witness": `
)

var validationCases = []struct {
	name  string
	edits []edit
	want  []string
}{
	// Structure.
	{"unknown field", []edit{{"activeSite: east", "activSite: east"}}, []string{
		app + `spec.policy.activSite: unknown field (did you mean "activeSite"?)`,
		app + `spec.policy.activeSite: required`,
	}},
	{"unknown field, wrong case", []edit{{"  region: us-east-1", "  Region: us-east-1"}}, []string{
		east + `spec.Region: unknown field (did you mean "region"?)`,
		east + `spec.region: required`,
	}},
	{"unknown field without suggestion", []edit{{"  namespace: shop", "  namespace: shop\n  owner: team-a"}}, []string{
		app + `spec.owner: unknown field`,
	}},
	{"wrong shape", []edit{{"ttl: 10", `ttl: "ten"`}}, []string{
		app + `spec.dns.ttl: expected an integer, got the string "ten"`,
	}},
	{"list where a mapping belongs", []edit{{"  health:\n", "  health: [http]\n  x:\n"}}, []string{
		app + `spec.health: expected a mapping, got a list`,
		app + `spec.x: unknown field`,
	}},
	{"bad duration", []edit{{"interval: 2s", "interval: 2"}}, []string{
		app + `spec.health.interval: expected a duration such as "1s" or "500ms", got the number 2`,
	}},
	{"duplicate key", []edit{{"  zones: [a, b, c]\n", "  zones: [a, b, c]\n  zones: [a]\n"}}, []string{
		east + `spec.zones: duplicate key (first on line 8)`,
	}},
	{"bad apiVersion", []edit{{"apiVersion: hadron.dev/v1alpha1\nkind: MirrorSet", "apiVersion: hadron.dev/v1\nkind: MirrorSet"}}, []string{
		set + `apiVersion: the string "hadron.dev/v1" is not supported (want hadron.dev/v1alpha1)`,
	}},
	{"unknown kind", []edit{{"", "apiVersion: hadron.dev/v1alpha1\nkind: Sites\nmetadata: {name: north}\n"}}, []string{
		`fleet.yaml: document 6: kind: "Sites" is not one of Site, Application, MirrorSet, DNSProvider (did you mean "Site"?)`,
	}},
	{"kind not a string", []edit{{"", "apiVersion: hadron.dev/v1alpha1\nkind: [Site]\n"}}, []string{
		`fleet.yaml: document 6: kind: expected one of Site, Application, MirrorSet, DNSProvider, got a list`,
	}},
	{"missing kind", []edit{{"", "apiVersion: hadron.dev/v1alpha1\nmetadata: {name: x}\n"}}, []string{
		`fleet.yaml: document 6: kind: required (one of Site, Application, MirrorSet, DNSProvider)`,
	}},
	{"missing name", []edit{{"", "apiVersion: hadron.dev/v1alpha1\nkind: Site\nspec: {region: us-east-1}\n"}}, []string{
		`fleet.yaml: Site (document 6): metadata.name: required`,
	}},
	{"not a mapping", []edit{{"", "- a\n- b\n"}}, []string{
		`fleet.yaml: document 6: expected a mapping with apiVersion, kind, metadata and spec, got a list`,
	}},
	{"syntax error", []edit{{"", "kind: [Site\n"}}, []string{
		`fleet.yaml: document 6: line 96: did not find expected ',' or ']'`,
	}},

	// Required fields and names.
	{"required region", []edit{{"  region: us-east-1\n", ""}}, []string{
		east + `spec.region: required`,
	}},
	{"required namespace and mode", []edit{{"  namespace: shop\n", ""}, {"    mode: active-passive\n", ""}}, []string{
		app + `spec.namespace: required`,
		app + `spec.policy.mode: required`,
	}},
	{"invalid site name", []edit{{"name: west", "name: West"}, {"standbySites: [west]", "standbySites: [West]"}, {"site: west", "site: West"}}, []string{
		`fleet.yaml: Site "West": metadata.name: "West" is not a valid site name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	}},
	{"duplicate site", []edit{{"", "apiVersion: hadron.dev/v1alpha1\nkind: Site\nmetadata: {name: west}\nspec: {region: us-west-2}\n"}}, []string{
		`fleet.yaml: Site "west": metadata.name: duplicate Site "west" (first defined in fleet.yaml document 2)`,
	}},
	{"duplicate member", []edit{{"name: east-1", "name: east-0"}}, []string{
		set + `spec.members[1].name: member "east-0" is already spec.members[0]`,
	}},

	// Enums.
	{"mode", []edit{{"mode: active-passive", "mode: active-pasive"}}, []string{
		app + `spec.policy.mode: "active-pasive" is not one of active-passive, active-active (did you mean "active-passive"?)`,
	}},
	{"standby", []edit{{"standby: pilot-light", "standby: hot"}}, []string{
		app + `spec.policy.standby: "hot" is not one of cold, pilot-light, warm`,
	}},
	{"strategy", []edit{{"strategy: failover", "strategy: weigthed"}}, []string{
		app + `spec.dns.strategy: "weigthed" is not one of failover, weighted, round-robin, geo (did you mean "weighted"?)`,
	}},
	{"probe type", []edit{{"type: http", "type: htp"}}, []string{
		app + `spec.health.type: "htp" is not one of http, https, tcp, dns (did you mean "http"?)`,
	}},
	{"site role", []edit{{"role: witness", "role: witnes"}}, []string{
		wit + `spec.role: "witnes" is not one of workload, witness (did you mean "witness"?)`,
	}},
	{"member role", []edit{{"role: dr-async", "role: replica"}}, []string{
		set + `spec.members[2].role: "replica" is not one of primary, failover, dr-async`,
	}},
	{"engine", []edit{{"engine: postgres", "engine: postgress"}}, []string{
		set + `spec.engine: "postgress" is not one of postgres (did you mean "postgres"?)`,
	}},

	// Dangling references.
	{"active site", []edit{{"activeSite: east", "activeSite: esat"}}, []string{
		app + `spec.policy.activeSite: site "esat" is not defined (did you mean "east"?)`,
	}},
	{"stand-by site", []edit{{"standbySites: [west]", "standbySites: [wset]"}}, []string{
		app + `spec.policy.standbySites[0]: site "wset" is not defined (did you mean "west"?)`,
	}},
	{"site name key", []edit{{"    ttl: 10\n", "    ttl: 10\n    siteNames: {wst: w.shop.gslb.example.com}\n"}}, []string{
		app + `spec.dns.siteNames[wst]: site "wst" is not defined (did you mean "west"?)`,
	}},
	{"site name key of another site", []edit{{"    ttl: 10\n", "    ttl: 10\n    siteNames: {witness: w.shop.gslb.example.com}\n"}}, []string{
		app + `spec.dns.siteNames[witness]: site "witness" is not one of the application's sites (east, west)`,
	}},
	{"weight key", []edit{{"strategy: failover", "strategy: weighted\n    weights: {east: 1, wes: 1}"}}, []string{
		app + `spec.dns.weights[wes]: site "wes" is not defined (did you mean "west"?)`,
	}},
	{"member site", []edit{{"site: west", "site: weast"}}, []string{
		set + `spec.members[2].site: site "weast" is not defined (did you mean "east"?)`,
	}},
	{"mirror set", []edit{{"mirrorSet: shop-db", "mirrorSet: shop-bd"}}, []string{
		app + `spec.data.mirrorSet: mirror set "shop-bd" is not defined (did you mean "shop-db"?)`,
	}},
	{"zone", []edit{{"zone: b", "zone: d"}}, []string{
		set + `spec.members[1].zone: zone "d" is not one of site "east"'s zones (a, b, c) (did you mean "a"?)`,
	}},
	{"zone of a site without zones", []edit{{"  zones: [a, b, c]\n", ""}}, []string{
		set + `spec.members[0].zone: zone "a": site "east" declares no zones (spec.zones)`,
		set + `spec.members[1].zone: zone "b": site "east" declares no zones (spec.zones)`,
	}},
	{"secret site", []edit{{"passwordFrom: {env: SHOP_DB_PASSWORD}", "passwordFrom: {secret: {site: est, namespace: shop, name: db, key: password}}"}}, []string{
		set + `spec.credentials.passwordFrom.secret.site: site "est" is not defined (did you mean "east"?)`,
	}},
	{"from region", []edit{{"fromRegions: {us-west-2:", "fromRegions: {us-west-1:"}}, []string{
		east + `spec.loadBalancers[0].fromRegions[us-west-1]: region "us-west-1" is not the region of any site (did you mean "us-west-2"?)`,
	}},

	// Policy.
	{"active also stand-by", []edit{{"standbySites: [west]", "standbySites: [west, east]"}}, []string{
		app + `spec.policy.standbySites[1]: site "east" is the active site; it cannot also stand by`,
	}},
	{"witness active", []edit{{"activeSite: east", "activeSite: witness"}}, []string{
		app + `spec.policy.activeSite: site "witness" is a witness: it only votes and runs no workloads or data`,
	}},
	{"witness stand-by", []edit{{"standbySites: [west]", "standbySites: [witness]"}}, []string{
		app + `spec.policy.standbySites[0]: site "witness" is a witness: it only votes and runs no workloads or data`,
	}},
	{"witness member", []edit{{"site: west", "site: witness"}, {"zone: a\n      role: dr-async", "role: dr-async"}}, []string{
		set + `spec.members[2].site: site "witness" is a witness: it only votes and runs no workloads or data`,
	}},
	{"witness without daemon", []edit{{"  role: witness\n  daemon:\n    api: {address: 10.3.0.5:7443}\n", "  role: witness\n"}}, []string{
		wit + `spec.daemon: required for a witness: voting is its only job`,
		app + `spec.policy.automaticFailover.enabled: automatic failover needs at least three voting sites (sites with spec.daemon) so that a majority survives losing one; found 2 (east, west)`,
	}},
	{"two voting sites, no witness", []edit{{"  role: witness\n", "  role: workload\n"}, {"  daemon:\n    api: {address: 10.3.0.5:7443}\n", ""}}, []string{
		app + `spec.policy.automaticFailover.enabled: automatic failover needs at least three voting sites (sites with spec.daemon) so that a majority survives losing one; found 2 (east, west); two workload sites need a witness site`,
	}},
	{"automatic failover without stand-by", []edit{{"standbySites: [west]", "standbySites: []"}}, []string{
		app + `spec.policy.automaticFailover.enabled: automatic failover needs a site to fail over to (spec.policy.standbySites)`,
	}},
	{"primary away from the active site", []edit{{"activeSite: east", "activeSite: west"}, {"standbySites: [west]", "standbySites: [east]"}}, []string{
		app + `spec.data.mirrorSet: mirror set "shop-db" has its primary at site "east" but the application is active at "west"`,
	}},

	// Mirror sets.
	{"no primary", []edit{{"role: primary", "role: failover"}}, []string{
		set + `spec.members: no member has role primary: exactly one must`,
	}},
	{"two primaries", []edit{{"role: failover", "role: primary"}}, []string{
		app + `spec.policy.rpo: RPO 0 needs a synchronous failover member, but mirror set "shop-db" has none`,
		set + `spec.members[1].role: spec.members[0] is already the primary: exactly one member must be primary`,
	}},
	{"failover out of region", []edit{{"      site: east\n      zone: b", "      site: west\n      zone: b"}}, []string{
		set + `spec.members[1].site: a failover member must be in the primary's region us-east-1, but site "west" is in us-west-2 (use role dr-async across regions)`,
	}},
	{"dr-async in region", []edit{{"      site: west\n      zone: a", "      site: east\n      zone: c"}}, []string{
		set + `spec.members[2].site: a dr-async member must be outside the primary's region us-east-1, but site "east" is in it (use role failover in-region)`,
	}},
	{"rpo 0 with asynchronous replication", []edit{{"synchronous: true", "synchronous: false"}}, []string{
		app + `spec.policy.rpo: RPO 0 needs synchronous replication, but mirror set "shop-db" sets spec.replication.synchronous: false`,
	}},
	{"rpo 0 without failover member", []edit{{"    - name: east-1\n      site: east\n      zone: b\n      role: failover\n      address: {address: 10.1.1.11:5432}\n", ""}}, []string{
		app + `spec.policy.rpo: RPO 0 needs a synchronous failover member, but mirror set "shop-db" has none`,
	}},
	{"rpo without data", []edit{{"  data:\n    mirrorSet: shop-db\n", ""}}, []string{
		app + `spec.policy.rpo: an RPO promise needs data to keep: set spec.data.mirrorSet`,
	}},

	// Data-loss modes.
	{"bounded", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: 200ms}\n"}}, nil},
	{"synchronous", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: synchronous}\n"}}, nil},
	{"bounded within the rpo", []edit{{"    rpo: 0s\n", "    rpo: 1s\n    dataLoss: {mode: bounded, bound: 1s}\n"}}, nil},
	{"bounded without a bound", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: required with mode bounded: the most writes, in time, a lost region may take with it (for example 200ms)`,
	}},
	{"bound with another mode", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: async, bound: 200ms}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: only with mode bounded (mode is async)`,
	}},
	{"bound too small", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: 5ms}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: 5ms is below 10ms, the resolution at which the primary follows the DR member; use mode synchronous to lose nothing`,
	}},
	{"negative bound", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: -200ms}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: -200ms is not positive: the most writes, in time, a lost region may take with it (for example 200ms)`,
	}},
	{"zero bound", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: 0s}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: 0s is not positive: the most writes, in time, a lost region may take with it (for example 200ms)`,
	}},
	{"bound that is not a duration", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: soon}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: expected a duration such as "1s" or "500ms", got the string "soon"`,
	}},
	{"bound above the rpo", []edit{{"    rpo: 0s\n", "    rpo: 100ms\n    dataLoss: {mode: bounded, bound: 200ms}\n"}}, []string{
		app + `spec.policy.dataLoss.bound: 200ms is more than spec.policy.rpo 100ms: a lost region could take more than the RPO promises`,
	}},
	{"unknown mode", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: sync}\n"}}, []string{
		app + `spec.policy.dataLoss.mode: "sync" is not one of async, bounded, synchronous (did you mean "async"?)`,
	}},
	{"data-loss mode without data", []edit{{"    rpo: 0s\n", "    dataLoss: {mode: synchronous}\n"}, {"  data:\n    mirrorSet: shop-db\n", ""}}, []string{
		app + `spec.policy.dataLoss: a data-loss mode needs data to keep: set spec.data.mirrorSet`,
	}},
	{"synchronous without a DR member", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: synchronous}\n"},
		{"    - name: west-0\n      site: west\n      zone: a\n      role: dr-async\n      address: {address: 10.2.1.10:5432}\n", ""}}, []string{
		app + `spec.policy.dataLoss.mode: mode synchronous keeps a promise about the DR member, but mirror set "shop-db" has no member outside the primary's region`,
	}},
	{"bounded without a DR member", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: bounded, bound: 200ms}\n"},
		{"    - name: west-0\n      site: west\n      zone: a\n      role: dr-async\n      address: {address: 10.2.1.10:5432}\n", ""}}, []string{
		app + `spec.policy.dataLoss.mode: mode bounded keeps a promise about the DR member, but mirror set "shop-db" has no member outside the primary's region`,
	}},
	{"async without a DR member", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: async}\n"},
		{"    - name: west-0\n      site: west\n      zone: a\n      role: dr-async\n      address: {address: 10.2.1.10:5432}\n", ""}}, nil},
	{"synchronous without a failover member", []edit{{"    rpo: 0s\n", "    dataLoss: {mode: synchronous}\n"},
		{"    - name: east-1\n      site: east\n      zone: b\n      role: failover\n      address: {address: 10.1.1.11:5432}\n", ""}}, []string{
		app + `spec.policy.dataLoss.mode: mode synchronous needs a failover member in the primary's region (a commit waits for it and for the DR member), but mirror set "shop-db" has none`,
	}},
	{"synchronous with asynchronous failover members", []edit{{"    rpo: 0s\n", "    dataLoss: {mode: synchronous}\n"}, {"synchronous: true", "synchronous: false"}}, []string{
		app + `spec.policy.dataLoss.mode: mode synchronous makes the failover member synchronous, but mirror set "shop-db" sets spec.replication.synchronous: false`,
	}},
	{"two applications, two modes", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: synchronous}\n"}, {"", `apiVersion: hadron.dev/v1alpha1
kind: Application
metadata:
  name: shop-admin
spec:
  namespace: shop
  policy:
    mode: active-passive
    activeSite: east
    standbySites: [west]
    dataLoss: {mode: bounded, bound: 1s}
  data:
    mirrorSet: shop-db
`}}, []string{
		`fleet.yaml: Application "shop-admin": spec.policy.dataLoss: bounded 1s, but application "shop" says synchronous for the same mirror set "shop-db": its primary keeps one promise`,
	}},
	{"two applications, one left at the default", []edit{{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: {mode: async}\n"}, {"", `apiVersion: hadron.dev/v1alpha1
kind: Application
metadata:
  name: shop-admin
spec:
  namespace: shop
  policy:
    mode: active-passive
    activeSite: east
    standbySites: [west]
  data:
    mirrorSet: shop-db
`}}, nil},
	{"secret on a witness", []edit{{"passwordFrom: {env: SHOP_DB_PASSWORD}", "passwordFrom: {secret: {site: witness, namespace: shop, name: db, key: password}}"}}, []string{
		set + `spec.credentials.passwordFrom.secret.site: site "witness" is a witness: it has no Kubernetes cluster to keep the Secret in`,
	}},
	{"secret on a site without kube context", []edit{{"  kubeContext: west\n", ""}, {"passwordFrom: {env: SHOP_DB_PASSWORD}", "passwordFrom: {secret: {site: west, namespace: shop, name: db, key: password}}"}}, []string{
		set + `spec.credentials.passwordFrom.secret.site: site "west" has no spec.kubeContext: hadron reaches no cluster there to read the Secret from`,
	}},
	{"secret without names", []edit{{"passwordFrom: {env: SHOP_DB_PASSWORD}", "passwordFrom: {secret: {site: east}}"}}, []string{
		set + `spec.credentials.passwordFrom.secret.key: required`,
		set + `spec.credentials.passwordFrom.secret.name: required`,
		set + `spec.credentials.passwordFrom.secret.namespace: required`,
	}},
	{"secret with invalid names", []edit{{"passwordFrom: {env: SHOP_DB_PASSWORD}", "passwordFrom: {secret: {site: east, namespace: Shop_NS, name: db/pw, key: pass word}}"}}, []string{
		set + `spec.credentials.passwordFrom.secret.key: "pass word" is not a valid Secret key: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		set + `spec.credentials.passwordFrom.secret.name: "db/pw" is not a valid Secret name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		set + `spec.credentials.passwordFrom.secret.namespace: "Shop_NS" is not a valid namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	}},
	{"password from two places", []edit{{"{env: SHOP_DB_PASSWORD}", "{env: SHOP_DB_PASSWORD, file: /run/pw}"}}, []string{
		set + `spec.credentials.passwordFrom: set exactly one of file, env, secret (found 2)`,
	}},

	// DNS.
	{"ttl too low", []edit{{"ttl: 10", "ttl: 0"}}, []string{
		app + `spec.dns.ttl: 0 is out of range (1 to 3600 seconds)`,
	}},
	{"ttl too high", []edit{{"ttl: 10", "ttl: 3601"}}, []string{
		app + `spec.dns.ttl: 3601 is out of range (1 to 3600 seconds)`,
	}},
	{"negative weight", []edit{{"strategy: failover", "strategy: weighted\n    weights: {east: -1, west: 1}"}}, []string{
		app + `spec.dns.weights[east]: weight -1 must not be negative`,
	}},
	{"all weights zero", []edit{{"strategy: failover", "strategy: weighted\n    weights: {east: 0, west: 0}"}}, []string{
		app + `spec.dns.weights: every site has weight 0: at least one must be positive`,
	}},
	{"weights without weighted", []edit{{"strategy: failover", "strategy: failover\n    weights: {east: 1}"}}, []string{
		app + `spec.dns.weights: weights are only used with strategy weighted`,
	}},
	{"geo without subnets", []edit{{"strategy: failover", "strategy: geo"}, {"  clientSubnets: [10.1.0.0/16]\n", ""}, {"  clientSubnets: [10.2.0.0/16]\n", ""}}, []string{
		app + `spec.dns.strategy: strategy geo needs spec.clientSubnets on at least one of the application's sites (east, west)`,
	}},
	{"verify quorum of none", []edit{{"    strategy: failover\n", "    strategy: failover\n    verifyQuorum: 0\n"}}, []string{
		app + `spec.dns.verifyQuorum: must be at least 1`,
	}},
	{"verify quorum above the name servers", []edit{{"    strategy: failover\n", "    strategy: failover\n    verifyQuorum: 3\n"},
		{"api: {address: 10.1.0.5:7443}", "api: {address: 10.1.0.5:7443}\n    dns: {address: 10.1.0.5:53}"},
		{"api: {address: 10.2.0.5:7443}", "api: {address: 10.2.0.5:7443}\n    dns: {address: 10.2.0.5:53}"}}, []string{
		app + `spec.dns.verifyQuorum: 3 is more than the fleet's 2 name servers (sites with spec.daemon.dns) (east, west)`,
	}},
	{"verify quorum within the name servers", []edit{{"    strategy: failover\n", "    strategy: failover\n    verifyQuorum: 1\n"},
		{"api: {address: 10.1.0.5:7443}", "api: {address: 10.1.0.5:7443}\n    dns: {address: 10.1.0.5:53}"}}, nil},
	{"name outside zone", []edit{{"name: shop.gslb.example.com", "name: shop.example.com"}}, []string{
		app + `spec.dns.name: "shop.example.com" is not inside the zone "gslb.example.com"`,
	}},
	{"site name outside zone", []edit{{"    ttl: 10\n", "    ttl: 10\n    siteNames: {west: west.shop.example.net}\n"}}, []string{
		app + `spec.dns.siteNames[west]: "west.shop.example.net" is not inside the zone "gslb.example.com"`,
	}},
	{"bad dns name", []edit{{"zone: gslb.example.com", "zone: gslb..example.com"}}, []string{
		app + `spec.dns.zone: "gslb..example.com" is not a valid DNS name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
	}},

	// Addresses and networks.
	{"address without port", []edit{{"- address: 192.0.2.10:443", "- address: 192.0.2.10"}}, []string{
		east + `spec.loadBalancers[0].address: "192.0.2.10" is not host:port: missing port in address`,
	}},
	{"port out of range", []edit{{"api: {address: 10.1.0.5:7443}", "api: {address: 10.1.0.5:74430}"}}, []string{
		east + `spec.daemon.api.address: "10.1.0.5:74430": port "74430" is not a number from 1 to 65535`,
	}},
	{"bad host", []edit{{"address: {address: 10.2.1.10:5432}", "address: {address: 'db_west:5432'}"}}, []string{
		set + `spec.members[2].address.address: "db_west:5432": host "db_west" is neither an IP address nor a DNS name`,
	}},
	{"member address required", []edit{{"      address: {address: 10.1.1.11:5432}\n", ""}}, []string{
		set + `spec.members[1].address.address: required`,
	}},
	{"bad cidr", []edit{{"clientSubnets: [10.1.0.0/16]", "clientSubnets: [10.1.0.0/33]"}}, []string{
		east + `spec.clientSubnets[0]: "10.1.0.0/33" is not a CIDR (for example 10.1.0.0/16)`,
	}},

	// Object replication.
	{"replication", []edit{{"  data:\n", `  replication:
    kinds: [Widget.example.com]
    rules:
    - sites: [wets]
      kinds: [ConfigMap]
      name: "set("
      mergePatch: {data: {REGION: us-west-2}}
      jsonPatch: [{op: replace, path: /data/x, value: {a: [1, 2]}}]
    exports:
    - service: db
      endpoints: {east: {address: "10.1.0.9"}}
  data:
`}}, []string{
		app + "spec.replication.exports[0].endpoints[east].address: \"10.1.0.9\" is not host:port: missing port in address",
		app + "spec.replication.rules[0].name: not a regular expression: error parsing regexp: missing closing ): `set(`",
		app + `spec.replication.rules[0].sites[0]: site "wets" is not defined (did you mean "west"?)`,
	}},

	// Health.
	{"interval too short", []edit{{"interval: 2s", "interval: 50ms"}, {"timeout: 1s", "timeout: 10ms"}}, []string{
		app + `spec.health.interval: 50ms is out of range (100ms to 10m0s)`,
	}},
	{"timeout longer than interval", []edit{{"timeout: 1s", "timeout: 3s"}}, []string{
		app + `spec.health.timeout: 3s is longer than the interval 2s: a probe must finish before the next starts`,
	}},
	{"rise and fall", []edit{{"rise: 2", "rise: -1"}, {"fall: 3", "fall: 101"}}, []string{
		app + `spec.health.fall: 101 is out of range (1 to 100)`,
		app + `spec.health.rise: -1 is out of range (1 to 100)`,
	}},
	{"path and body", []edit{{"path: /healthz", "path: healthz\n    bodyMatch: '('"}}, []string{
		app + "spec.health.bodyMatch: not a regular expression: error parsing regexp: missing closing ): `(`",
		app + `spec.health.path: "healthz" must start with /`,
	}},
}

func TestValidationMessages(t *testing.T) {
	base := baseFleet(t)
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, applyEdits(t, base, tc.edits))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
