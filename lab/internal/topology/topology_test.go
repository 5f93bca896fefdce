package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

func TestVia(t *testing.T) {
	tests := []struct {
		from, to int
		addr     string
		want     string
		wantErr  string
	}{
		{from: 1, to: 1, addr: "127.0.1.10:8080", want: "127.0.1.10:8080"},
		{from: 2, to: 1, addr: "127.0.1.10:8080", want: "127.2.1.10:8080"},
		{from: 3, to: 2, addr: "127.0.2.21:5432", want: "127.3.2.21:5432"},
		{from: 2, to: 1, addr: "127.0.2.10:8080", wantErr: "not in region 1's range"},
		{from: 2, to: 1, addr: "10.0.1.10:8080", wantErr: "not in region 1's range"},
		{from: 2, to: 1, addr: "nonsense", wantErr: "missing port"},
	}
	for _, tt := range tests {
		got, err := Via(tt.from, tt.to, tt.addr)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Via(%d,%d,%q) error = %v, want %q", tt.from, tt.to, tt.addr, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Via(%d,%d,%q) = %q, %v; want %q", tt.from, tt.to, tt.addr, got, err, tt.want)
		}
	}
}

func TestDefaultProxies(t *testing.T) {
	c := Default()
	ps, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Proxy{}
	listens := map[string]string{}
	for _, p := range ps {
		byName[p.Name] = p
		if other, dup := listens[p.Listen]; dup {
			t.Errorf("proxies %s and %s both listen on %s", other, p.Name, p.Listen)
		}
		listens[p.Listen] = p.Name
	}
	want := map[string]Proxy{
		"west>east/ingress":         {From: "west", To: "east", Listen: "127.2.1.10:8080", Upstream: "127.0.1.10:8080"},
		"west>east/postgres-east-0": {From: "west", To: "east", Listen: "127.2.1.21:5432", Upstream: "127.0.1.21:5432"},
		"east>west/postgres-west-0": {From: "east", To: "west", Listen: "127.1.2.21:5432", Upstream: "127.0.2.21:5432"},
		"witness>east/apiserver":    {From: "witness", To: "east", Listen: "127.3.1.1:6443", Upstream: "127.0.1.1:6443"},
		"east>witness/daemon-api":   {From: "east", To: "witness", Listen: "127.1.3.40:7443", Upstream: "127.0.3.40:7443"},
	}
	for name, w := range want {
		got, ok := byName[name]
		if !ok {
			t.Errorf("no proxy %s", name)
			continue
		}
		if got.From != w.From || got.To != w.To || got.Listen != w.Listen || got.Upstream != w.Upstream {
			t.Errorf("proxy %s = %+v, want %+v", name, got, w)
		}
	}
	if _, ok := byName["east>witness/ingress"]; ok {
		t.Error("a witness has no ingress to proxy")
	}
	l, _ := c.LinkOf("west", "east")
	if l.String() != "east-west" || !byName["west>east/ingress"].OnLink(l) || byName["east>witness/daemon-api"].OnLink(l) {
		t.Errorf("link east-west membership wrong: %v", l)
	}
}

func TestMembers(t *testing.T) {
	got := Default().Members()
	want := []string{"east-0/primary/us-east-1a/127.0.1.21:5432", "east-1/failover/us-east-1b/127.0.1.22:5432", "west-0/dr-async/us-west-2a/127.0.2.21:5432"}
	if len(got) != len(want) {
		t.Fatalf("members = %+v", got)
	}
	for i, m := range got {
		if s := m.Name + "/" + m.Role + "/" + m.Zone + "/" + m.Address; s != want[i] {
			t.Errorf("member %d = %s, want %s", i, s, want[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "lab.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	two := "sites:\n- {name: a, region: r1}\n- {name: b, region: r2}\n"
	tests := []struct {
		body, wantErr string
	}{
		{"sites:\n- {name: a, region: r1}\n- {name: a, region: r2}\n", `sites[1].name: site "a" is defined twice`},
		{"sites:\n- {name: a, region: r1}\n- {name: b, region: r1}\n", `sites[1].region: region "r1" has two sites`},
		{"sites:\n- {name: a, region: r1, role: boss}\n", `sites[0].role: "boss" is not workload or witness`},
		{"sites:\n- {name: a, region: r1}\nlatency: 9s\n", "latency: 9s is outside 0..5s"},
		{"sites:\n- {name: a, region: r1, nodez: 3}\n", `unknown field "nodez"`},
		{"sites:\n- {name: w, region: r1, role: witness}\n", "the demo needs at least one workload site"},
		{two + "dataLoss: {mode: eventual}\n", `dataLoss.mode: "eventual" is not async, bounded or synchronous`},
		{two + "dataLoss: {bound: 200ms}\n", "dataLoss.mode: required"},
		{two + "dataLoss: {mode: bounded}\n", "dataLoss.bound: required with mode bounded"},
		{two + "dataLoss: {mode: synchronous, bound: 200ms}\n", `dataLoss.bound: only with mode bounded, not "synchronous"`},
		{two + "dataLoss: {mode: bounded, bound: 5ms}\n", "dataLoss.bound: 5ms is below 10ms"},
		{two + "dataLoss: {mode: bounded, bound: soon}\n", `duration "soon"`},
		{"sites:\n- {name: a, region: r1}\ndataLoss: {mode: synchronous}\n", "dataLoss.mode: synchronous needs a DR member"},
		{two + "demo: false\ndataLoss: {mode: async}\n", "dataLoss: needs the demo"},
		{two + "apps: 201\n", "apps: 201 is outside 0..200"},
		{two + "apps: -1\n", "apps: -1 is outside 0..200"},
		{two + "demo: false\napps: 3\n", "apps: needs the demo and the daemons"},
		{two + "daemons: false\napps: 3\n", "apps: needs the demo and the daemons"},
		{two + "daemonPods: true\n", "daemonPods: needs the daemons and realNodes: 1 or more"},
		{two + "realNodes: 1\ndaemons: false\ndaemonPods: true\n", "daemonPods: needs the daemons"},
	}
	for _, tt := range tests {
		_, err := Load(write(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Load(%q) error = %v, want %q", tt.body, err, tt.wantErr)
		}
	}
	c, err := Load(write("sites:\n- {name: a, region: r1}\n- {name: b, region: r2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sites[0].Zones) != 3 || *c.Sites[0].NodesPerZone != 2 || c.Latency.Duration != DefaultLatency {
		t.Errorf("defaults not applied: %+v", c)
	}
	// The README's lab.yaml with a data-loss mode.
	c, err = Load(write("sites:\n  - {name: east, region: us-east-1}\n  - {name: west, region: us-west-2}\n  - {name: witness, region: eu-central-1, role: witness}\ndataLoss: {mode: bounded, bound: 200ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataLoss == nil || c.DataLoss.Mode != DataLossBounded || c.DataLoss.Bound == nil || c.DataLoss.Bound.Duration != 200*time.Millisecond {
		t.Errorf("dataLoss = %+v", c.DataLoss)
	}
}

// The fleet file the lab writes must load and validate with hadron's own loader.
func TestFleetYAMLLoads(t *testing.T) {
	dir := t.TempDir()
	b, err := Default().FleetYAML(Paths{Kubeconfig: filepath.Join(dir, "kubeconfig"), PasswordFile: filepath.Join(dir, "pg", "password"), PostgresDir: filepath.Join(dir, "pg"),
		PostgresCerts: filepath.Join(dir, "pg-certs"), CACert: filepath.Join(dir, "ca", "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Load(p)
	if err != nil {
		t.Fatalf("lab fleet does not load: %v\n%s", err, b)
	}
	if len(f.Sites) != 3 || len(f.Applications) != 1 || len(f.MirrorSets) != 1 {
		t.Fatalf("fleet has %d sites, %d apps, %d sets", len(f.Sites), len(f.Applications), len(f.MirrorSets))
	}
	west := f.Site("west")
	if got := west.Spec.LoadBalancers[0].From("us-east-1"); got != "127.1.2.10:8080" {
		t.Errorf("west's load balancer from us-east-1 = %s", got)
	}
	rep := f.Application("shop").Spec.Replication
	if rep == nil || len(rep.Rules) != 2 || rep.Rules[1].Sites[0] != "west" || !strings.Contains(string(rep.Rules[1].MergePatch), `"HADRON_DEMO_SITE":"west"`) {
		t.Errorf("shop replication = %+v", rep)
	}
	// The mirror set runs over TLS, verified, with a certificate for every member.
	if tls := f.MirrorSet("shop-db").Spec.TLS; tls == nil || tls.Mode != "verify-full" || tls.CA == nil || len(tls.Members) != len(f.MirrorSet("shop-db").Spec.Members) {
		t.Errorf("shop-db tls = %+v", tls)
	}
	if strings.Contains(string(b), "creationTimestamp") {
		t.Error("fleet file carries creationTimestamp")
	}
}

// lab.yaml's dataLoss becomes the demo application's spec.policy.dataLoss, which
// hadron's own loader must accept; no dataLoss leaves the policy unset (async).
func TestFleetDataLoss(t *testing.T) {
	bound := &Duration{200 * time.Millisecond}
	tests := []struct {
		name      string
		in        *DataLossConfig
		wantMode  v1alpha1.DataLossMode
		wantBound time.Duration
		wantNil   bool
	}{
		// hadron's loader defaults the policy to async; the file itself names none.
		{name: "none", in: nil, wantMode: v1alpha1.DataLossAsync, wantNil: true},
		{name: "async", in: &DataLossConfig{Mode: DataLossAsync}, wantMode: v1alpha1.DataLossAsync},
		{name: "bounded", in: &DataLossConfig{Mode: DataLossBounded, Bound: bound}, wantMode: v1alpha1.DataLossBounded, wantBound: 200 * time.Millisecond},
		{name: "synchronous", in: &DataLossConfig{Mode: DataLossSynchronous}, wantMode: v1alpha1.DataLossSynchronous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := Default()
			c.DataLoss = tt.in
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			b, err := c.FleetYAML(Paths{Kubeconfig: filepath.Join(dir, "kubeconfig"), PasswordFile: filepath.Join(dir, "pg", "password"), PostgresDir: filepath.Join(dir, "pg")})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "fleet.yaml")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := fleet.Load(p)
			if err != nil {
				t.Fatalf("lab fleet does not load: %v\n%s", err, b)
			}
			got := f.Application("shop").Spec.Policy.DataLoss
			if named := strings.Contains(string(b), "dataLoss"); named == tt.wantNil {
				t.Errorf("fleet file names dataLoss: %v, want %v", named, !tt.wantNil)
			}
			if got == nil || got.Mode != tt.wantMode {
				t.Fatalf("dataLoss = %v, want mode %s", got, tt.wantMode)
			}
			var gotBound time.Duration
			if got.Bound != nil {
				gotBound = got.Bound.Duration
			}
			if gotBound != tt.wantBound {
				t.Errorf("dataLoss.bound = %s, want %s", gotBound, tt.wantBound)
			}
		})
	}
}

// With backups (the default with the demo) the demo's set archives to the object
// store in the witness's region, each region through its own proxy, which sits on two
// links: the regions' and the region's own link to the store. hadron's loader accepts
// the fleet; backups: false leaves the set without spec.backup and the store without
// links.
func TestFleetBackups(t *testing.T) {
	dir := t.TempDir()
	paths := Paths{Kubeconfig: filepath.Join(dir, "kubeconfig"), PasswordFile: filepath.Join(dir, "pg", "password"), PostgresDir: filepath.Join(dir, "pg"),
		CACert: filepath.Join(dir, "ca", "ca.crt"), ObjectStoreDir: filepath.Join(dir, "objectstore")}
	c := Default()
	b, err := c.FleetYAML(paths)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Load(p)
	if err != nil {
		t.Fatalf("lab fleet does not load: %v\n%s", err, b)
	}
	bk := f.MirrorSet("shop-db").Spec.Backup
	if bk == nil || bk.Repository.S3 == nil || bk.CipherPassFrom == nil || bk.Schedule == nil || bk.ArchiveLagBound == nil {
		t.Fatalf("shop-db backup = %+v", bk)
	}
	if !bk.RestoreWhenNoMember {
		t.Errorf("the demo's set (mode async) does not restore from the archive when no member is left")
	}
	s3 := bk.Repository.S3
	if s3.Endpoint != "127.0.3.60" || s3.Port != PortObjectStore || s3.FromRegions["us-east-1"] != "127.1.3.60:9443" || s3.FromRegions["us-west-2"] != "127.2.3.60:9443" {
		t.Errorf("s3 = %+v", s3)
	}
	ps, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	var store []Proxy
	for _, p := range ps {
		if p.Service == ObjectStore {
			store = append(store, p)
		}
	}
	storeLink, ok := c.LinkOf("objectstore", "east")
	regions, _ := c.LinkOf("east", "witness")
	if len(store) != 2 || !ok || storeLink.String() != "east-objectstore" {
		t.Fatalf("store proxies %+v, link %v %v", store, storeLink, ok)
	}
	for _, p := range store {
		east := p.From == "east"
		if p.OnLink(storeLink) != east || p.OnLink(regions) != east {
			t.Errorf("proxy %s: on %s %v, on %s %v", p.Name, storeLink, p.OnLink(storeLink), regions, p.OnLink(regions))
		}
	}
	if _, ok := c.LinkOf("witness", "objectstore"); ok {
		t.Error("the store's own region has a link to it")
	}
	if got := len(c.Links()); got != 5 {
		t.Errorf("%d links, want 3 between regions and 2 to the store", got)
	}

	bounded := c
	bounded.DataLoss = &DataLossConfig{Mode: DataLossBounded}
	if _, _, sets := bounded.Fleet(paths); sets[0].Spec.Backup == nil || sets[0].Spec.Backup.RestoreWhenNoMember {
		t.Error("mode bounded: the demo's set restores from the archive (fleet validation refuses it)")
	}

	off := false
	c.Backups = &off
	if _, _, sets := c.Fleet(paths); sets[0].Spec.Backup != nil {
		t.Error("backups: false still gives spec.backup")
	}
	if got := len(c.Links()); got != 3 {
		t.Errorf("backups off: %d links", got)
	}
}
