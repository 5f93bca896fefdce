// Package topology describes a lab world: its sites, the loopback addresses of every
// process, the cross-region links between them, and the fleet file that describes the
// lab to hadron. Everything here is pure, so the address plan is table-tested.
package topology

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is a lab.yaml: which sites to run and how the regions are linked.
type Config struct {
	Sites []SiteConfig `json:"sites"`
	// Latency is the default one-way latency of every cross-region link.
	Latency Duration `json:"latency,omitempty"`
	// Demo runs the demo application and its mirror set (default true).
	Demo *bool `json:"demo,omitempty"`
	// Daemons runs `hadron serve` at every site (an etcd cluster across the regions,
	// probes from each region, the GSLB name servers, replication, runbooks); default
	// true.
	Daemons *bool `json:"daemons,omitempty"`
	// FirstRegion numbers the regions' address ranges from 127.0.FirstRegion.0/24
	// (default 1), so a second lab (the tests') can run beside the user's.
	FirstRegion int `json:"firstRegion,omitempty"`
	// DNS says who answers the demo's names for clients: hadron (its own name
	// servers, default), bind (a company BIND 9 the leader updates by RFC 2136) or
	// external-dns (the same BIND, written by an external-dns in every workload site
	// from the DNSEndpoint objects hadron puts there).
	DNS string `json:"dns,omitempty"`
	// RealNodes is how many real worker nodes (a kubelet and a containerd, pods on a
	// bridge network) every workload site runs beside its simulated ones; 0 (default)
	// keeps the lab free of containers for machines that cannot run them. The k-th node
	// is in the site's zone k mod len(zones); at most MaxRealNodes
	// (docs/design/lab-real-nodes.md).
	RealNodes int `json:"realNodes,omitempty"`
	// MemberPods runs the demo's mirror set in pods — the first workload site's
	// primary and failover members, every other site's DR member — on each site's real
	// nodes, a StatefulSet each with a local volume, instead of host processes
	// (docs/design/lab-real-nodes.md). Needs realNodes >= 2 (one member per zone's
	// node). With backups each member archives from its pod (the image has pgBackRest)
	// through its site's pod gateway.
	MemberPods bool `json:"memberPods,omitempty"`
	// DaemonPods runs hadron's daemons as pods, installed into every site's cluster by
	// the Helm chart (charts/hadron, with helm beside hadron-lab or on PATH, and the
	// image bin/images/hadron.tar of make images), reading the fleet from the clusters'
	// custom resources, instead of as host processes. The witness then gets a control
	// plane and one real node too. Needs realNodes >= 1 and the daemons
	// (docs/design/helm-chart.md).
	DaemonPods bool `json:"daemonPods,omitempty"`
	// Backups runs the lab's object store (an S3 server in the witness's region,
	// objects in memory) and gives the demo's mirror set spec.backup: WAL archived
	// from the primary, scheduled base backups (default true with the demo).
	Backups *bool `json:"backups,omitempty"`
	// DataLoss is the demo application's data-loss mode across regions (its
	// spec.policy.dataLoss): async (default), bounded with a bound, or synchronous.
	DataLoss *DataLossConfig `json:"dataLoss,omitempty"`
	// Apps adds that many light applications (app-001, ...) beside the demo: stateless,
	// each with its own namespace, main name and health path at the sites' load
	// balancers (lightapps.go); at most MaxApps. Default 0.
	Apps int `json:"apps,omitempty"`
}

// MaxRealNodes is how many real nodes a site may have: each takes its own slice of the
// site's pod /24 and its own kubelet ports on the site's pod gateway.
const MaxRealNodes = 3

// DataLossConfig is the demo's data-loss mode as lab.yaml spells it.
type DataLossConfig struct {
	Mode string `json:"mode"`
	// Bound is mode bounded's bound, "200ms"; required with it and only with it.
	Bound *Duration `json:"bound,omitempty"`
}

// Data-loss modes the demo's policy may name (api/v1alpha1's DataLossMode values).
const (
	DataLossAsync       = "async"
	DataLossBounded     = "bounded"
	DataLossSynchronous = "synchronous"
)

// SiteConfig is one site of the lab. Each site is its own region.
type SiteConfig struct {
	Name   string   `json:"name"`
	Region string   `json:"region"`
	Zones  []string `json:"zones,omitempty"`
	// Role is workload (a Kubernetes control plane, nodes, ingress) or witness (votes
	// only; no control plane).
	Role         string `json:"role,omitempty"`
	NodesPerZone *int   `json:"nodesPerZone,omitempty"`
	// Autoscaler names a Deployment (namespace/name) that gates the lab's node
	// autoscaler: the site starts without worker nodes, as seed 003's cold stand-by.
	Autoscaler string `json:"autoscaler,omitempty"`
}

// Duration is a time.Duration written as "35ms" in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON reads "35ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

const (
	RoleWorkload = "workload"
	RoleWitness  = "witness"

	// DefaultLatency is the one-way latency of a cross-region link.
	DefaultLatency = 35 * time.Millisecond
)

// Default is the world `hadron lab up` starts without a config: two workload regions
// and a witness.
func Default() Config {
	two := 2
	return Config{
		Sites: []SiteConfig{
			{Name: "east", Region: "us-east-1", Zones: zones("us-east-1"), Role: RoleWorkload, NodesPerZone: &two},
			{Name: "west", Region: "us-west-2", Zones: zones("us-west-2"), Role: RoleWorkload, NodesPerZone: &two},
			{Name: "witness", Region: "eu-central-1", Role: RoleWitness},
		},
		Latency: Duration{DefaultLatency},
	}
}

func zones(region string) []string { return []string{region + "a", region + "b", region + "c"} }

// Load reads a lab.yaml; an empty path gives Default.
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read lab config: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Latency.Duration == 0 {
		c.Latency.Duration = DefaultLatency
	}
	for i := range c.Sites {
		s := &c.Sites[i]
		if s.Role == "" {
			s.Role = RoleWorkload
		}
		if s.Role == RoleWorkload && len(s.Zones) == 0 {
			s.Zones = zones(s.Region)
		}
		if s.NodesPerZone == nil && s.Role == RoleWorkload {
			two := 2
			s.NodesPerZone = &two
		}
	}
}

// DemoEnabled says whether the demo application and its mirror set run.
// DaemonsEnabled says whether the lab runs `hadron serve` at every site.
func (c Config) DaemonsEnabled() bool { return c.Daemons == nil || *c.Daemons }

func (c Config) DemoEnabled() bool { return c.Demo == nil || *c.Demo }

// Validate reports every problem of the config, one per line.
func (c Config) Validate() error {
	var errs []error
	if len(c.Sites) == 0 {
		errs = append(errs, errors.New("sites: at least one site is needed"))
	}
	names, regions := map[string]bool{}, map[string]bool{}
	workloads := 0
	for i, s := range c.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		switch {
		case s.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		case names[s.Name]:
			errs = append(errs, fmt.Errorf("%s.name: site %q is defined twice", p, s.Name))
		}
		names[s.Name] = true
		switch {
		case s.Region == "":
			errs = append(errs, fmt.Errorf("%s.region: required", p))
		case regions[s.Region]:
			errs = append(errs, fmt.Errorf("%s.region: region %q has two sites; the lab runs one site per region", p, s.Region))
		}
		regions[s.Region] = true
		switch s.Role {
		case RoleWorkload:
			workloads++
		case RoleWitness:
			if s.Autoscaler != "" {
				errs = append(errs, fmt.Errorf("%s.autoscaler: a witness runs no workloads", p))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.role: %q is not workload or witness", p, s.Role))
		}
		if s.NodesPerZone != nil && (*s.NodesPerZone < 0 || *s.NodesPerZone > 50) {
			errs = append(errs, fmt.Errorf("%s.nodesPerZone: %d is outside 0..50", p, *s.NodesPerZone))
		}
		if s.Autoscaler != "" && strings.Count(s.Autoscaler, "/") != 1 {
			errs = append(errs, fmt.Errorf("%s.autoscaler: %q is not namespace/name", p, s.Autoscaler))
		}
	}
	switch c.DNS {
	case "", DNSHadron, DNSBind, DNSExternalDNS:
		if c.DNS != "" && c.DNS != DNSHadron && !(c.DemoEnabled() && c.DaemonsEnabled()) {
			errs = append(errs, fmt.Errorf("dns: %s needs the demo and the daemons (the names and the leader that writes them)", c.DNS))
		}
	default:
		errs = append(errs, fmt.Errorf("dns: %q is not hadron, bind or external-dns", c.DNS))
	}
	if c.DemoEnabled() && workloads < 1 {
		errs = append(errs, errors.New("sites: the demo needs at least one workload site"))
	}
	errs = append(errs, c.validateDataLoss(workloads)...)
	if c.FirstRegion < 0 || c.FirstRegion+len(c.Sites) > 250 {
		errs = append(errs, fmt.Errorf("firstRegion: %d leaves no room for %d regions below 127.250", c.FirstRegion, len(c.Sites)))
	}
	if c.Backups != nil && *c.Backups && !c.DemoEnabled() {
		errs = append(errs, errors.New("backups: needs the demo (they are its mirror set's)"))
	}
	if c.RealNodes < 0 || c.RealNodes > MaxRealNodes {
		errs = append(errs, fmt.Errorf("realNodes: %d is outside 0..%d", c.RealNodes, MaxRealNodes))
	}
	if c.MemberPods && (c.RealNodes < 2 || !c.DemoEnabled()) {
		errs = append(errs, errors.New("memberPods: needs the demo and realNodes: 2 or more"))
	}
	if c.DaemonPods && (c.RealNodes < 1 || !c.DaemonsEnabled()) {
		errs = append(errs, errors.New("daemonPods: needs the daemons and realNodes: 1 or more (the pods run on real nodes)"))
	}
	if c.Apps < 0 || c.Apps > MaxApps {
		errs = append(errs, fmt.Errorf("apps: %d is outside 0..%d", c.Apps, MaxApps))
	} else if c.Apps > 0 && !(c.DemoEnabled() && c.DaemonsEnabled()) {
		// The light applications are answered by the demo's load balancers and only
		// mean something with daemons that probe them.
		errs = append(errs, errors.New("apps: needs the demo and the daemons (the load balancers that answer them and the daemons that probe them)"))
	}
	if c.Latency.Duration < 0 || c.Latency.Duration > 5*time.Second {
		errs = append(errs, fmt.Errorf("latency: %s is outside 0..5s", c.Latency.Duration))
	}
	return errors.Join(errs...)
}

// validateDataLoss checks the demo's data-loss mode before hadron sees it, so a bad
// lab.yaml fails at `lab up` naming its own field rather than the generated fleet's.
func (c Config) validateDataLoss(workloads int) []error {
	d := c.DataLoss
	if d == nil {
		return nil
	}
	var errs []error
	switch d.Mode {
	case DataLossAsync, DataLossBounded, DataLossSynchronous:
	case "":
		errs = append(errs, errors.New("dataLoss.mode: required (async, bounded or synchronous)"))
	default:
		errs = append(errs, fmt.Errorf("dataLoss.mode: %q is not async, bounded or synchronous", d.Mode))
	}
	switch {
	case d.Mode == DataLossBounded && d.Bound == nil:
		errs = append(errs, errors.New("dataLoss.bound: required with mode bounded"))
	case d.Mode != DataLossBounded && d.Bound != nil:
		errs = append(errs, fmt.Errorf("dataLoss.bound: only with mode bounded, not %q", d.Mode))
	case d.Bound != nil && d.Bound.Duration < 10*time.Millisecond:
		errs = append(errs, fmt.Errorf("dataLoss.bound: %s is below 10ms", d.Bound.Duration))
	}
	if !c.DemoEnabled() {
		errs = append(errs, errors.New("dataLoss: needs the demo (it is the demo's policy)"))
	} else if (d.Mode == DataLossBounded || d.Mode == DataLossSynchronous) && workloads < 2 {
		// The DR member lives in the second workload site (Members).
		errs = append(errs, fmt.Errorf("dataLoss.mode: %s needs a DR member, so at least two workload sites", d.Mode))
	}
	return errs
}
