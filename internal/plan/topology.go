package plan

import (
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

// Topology is the fleet as a person reads it: sites by region and zone with what runs
// in each zone, the applications and their policies, the mirror sets and their members,
// and the sites that vote.
type Topology struct {
	Regions      []Region      `json:"regions"`
	Applications []Application `json:"applications"`
	MirrorSets   []MirrorSet   `json:"mirrorSets"`
	Voting       Voting        `json:"voting"`
}

// Region groups the sites of one region, in fleet order.
type Region struct {
	Name  string `json:"name"`
	Sites []Site `json:"sites"`
}

// Site is one site and, per zone, the database members placed there.
type Site struct {
	Name          string     `json:"name"`
	Role          string     `json:"role"`
	KubeContext   string     `json:"kubeContext,omitempty"`
	Kubeconfig    string     `json:"kubeconfig,omitempty"`
	LoadBalancers []Endpoint `json:"loadBalancers,omitempty"`
	ClientSubnets []string   `json:"clientSubnets,omitempty"`
	Daemon        *Daemon    `json:"daemon,omitempty"`
	Zones         []Zone     `json:"zones,omitempty"`
}

// Endpoint is an address and how other regions reach it.
type Endpoint struct {
	Address     string            `json:"address"`
	FromRegions map[string]string `json:"fromRegions,omitempty"`
}

// Daemon is where a site's hadron daemon listens.
type Daemon struct {
	API  Endpoint  `json:"api"`
	Peer *Endpoint `json:"peer,omitempty"`
	DNS  *Endpoint `json:"dns,omitempty"`
}

// Zone lists the members in one zone of a site; Name is empty for members placed
// without a zone.
type Zone struct {
	Name    string       `json:"name"`
	Members []ZoneMember `json:"members,omitempty"`
}

// ZoneMember is a database member as seen from its zone.
type ZoneMember struct {
	MirrorSet string `json:"mirrorSet"`
	Member    string `json:"member"`
	Role      string `json:"role"`
}

// Application is an application's policy with every default applied.
type Application struct {
	Name              string             `json:"name"`
	Namespace         string             `json:"namespace"`
	Mode              string             `json:"mode"`
	ActiveSite        string             `json:"activeSite"`
	StandbySites      []string           `json:"standbySites,omitempty"`
	Standby           string             `json:"standby"`
	RPO               string             `json:"rpo,omitempty"`
	DataLoss          *DataLoss          `json:"dataLoss,omitempty"`
	AutomaticFailover *AutomaticFailover `json:"automaticFailover,omitempty"`
	Capacity          []string           `json:"capacity,omitempty"`
	DNS               *DNS               `json:"dns,omitempty"`
	Health            Health             `json:"health"`
	MirrorSet         string             `json:"mirrorSet,omitempty"`
}

// DataLoss is an application's data-loss mode across regions and what it means for
// its mirror set: which members every commit waits for, and what a lost region costs.
type DataLoss struct {
	Mode  string `json:"mode"`
	Bound string `json:"bound,omitempty"`
	// DR are the members in other regions the promise is about.
	DR []string `json:"dr,omitempty"`
	// Commits says what a commit waits for; Loss what a lost or cut-off region costs.
	Commits string `json:"commits"`
	Loss    string `json:"loss"`
}

// AutomaticFailover is shown only when enabled.
type AutomaticFailover struct {
	Threshold   string `json:"threshold"`
	MinInterval string `json:"minInterval"`
}

// DNS is an application's names; SiteNames includes the default per-site names.
type DNS struct {
	Zone      string            `json:"zone"`
	Name      string            `json:"name"`
	Strategy  string            `json:"strategy"`
	TTL       int32             `json:"ttl"`
	SiteNames map[string]string `json:"siteNames"`
	Weights   map[string]int32  `json:"weights,omitempty"`
}

// Health is the application's health check.
type Health struct {
	Type     string `json:"type"`
	Path     string `json:"path,omitempty"`
	Port     int32  `json:"port,omitempty"`
	Interval string `json:"interval"`
	Timeout  string `json:"timeout"`
	Rise     int32  `json:"rise"`
	Fall     int32  `json:"fall"`
}

// MirrorSet is a replicated database and its members.
type MirrorSet struct {
	Name        string   `json:"name"`
	Engine      string   `json:"engine"`
	Database    string   `json:"database,omitempty"`
	Synchronous bool     `json:"synchronous"`
	Members     []Member `json:"members"`
}

// Member is one database instance and where it runs.
type Member struct {
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Site    string   `json:"site"`
	Region  string   `json:"region"`
	Zone    string   `json:"zone,omitempty"`
	Address Endpoint `json:"address"`
}

// Voting is the sites with a daemon: the members of the coordination cluster.
type Voting struct {
	Sites    []string `json:"sites"`
	Majority int      `json:"majority"`
}

// Key implements Section.
func (*Topology) Key() string { return "topology" }

// Title implements Section.
func (*Topology) Title() string { return "Topology" }

// TopologyOf describes f; f should be loaded (validated, with defaults).
func TopologyOf(f *fleet.Fleet) *Topology {
	t := &Topology{Regions: []Region{}, Applications: []Application{}, MirrorSets: []MirrorSet{}, Voting: Voting{Sites: []string{}}}
	members := map[string][]ZoneMember{} // "site/zone" → members there
	for _, m := range f.MirrorSets {
		ms := MirrorSet{Name: m.Name, Engine: string(m.Spec.Engine), Database: m.Spec.Database, Members: []Member{}}
		if r := m.Spec.Replication; r != nil && r.Synchronous != nil {
			ms.Synchronous = *r.Synchronous
		}
		for _, mb := range m.Spec.Members {
			region := ""
			if s := f.Site(mb.Site); s != nil {
				region = s.Spec.Region
			}
			ms.Members = append(ms.Members, Member{Name: mb.Name, Role: string(mb.Role), Site: mb.Site, Region: region, Zone: mb.Zone, Address: endpoint(mb.Address)})
			key := mb.Site + "/" + mb.Zone
			members[key] = append(members[key], ZoneMember{MirrorSet: m.Name, Member: mb.Name, Role: string(mb.Role)})
		}
		t.MirrorSets = append(t.MirrorSets, ms)
	}
	index := map[string]int{}
	for _, s := range f.Sites {
		i, ok := index[s.Spec.Region]
		if !ok {
			i = len(t.Regions)
			index[s.Spec.Region] = i
			t.Regions = append(t.Regions, Region{Name: s.Spec.Region})
		}
		t.Regions[i].Sites = append(t.Regions[i].Sites, siteOf(s, members))
		if s.Spec.Daemon != nil {
			t.Voting.Sites = append(t.Voting.Sites, s.Name)
		}
	}
	t.Voting.Majority = len(t.Voting.Sites)/2 + 1
	for _, a := range f.Applications {
		app := applicationOf(a)
		if a.Spec.Data != nil {
			app.DataLoss = dataLossOf(f, a)
		}
		t.Applications = append(t.Applications, app)
	}
	return t
}

// dataLossOf describes a's data-loss mode on its mirror set.
func dataLossOf(f *fleet.Fleet, a *v1alpha1.Application) *DataLoss {
	dl := v1alpha1.DataLoss{Mode: v1alpha1.DataLossAsync}
	if a.Spec.Policy.DataLoss != nil {
		dl = *a.Spec.Policy.DataLoss
	}
	out := &DataLoss{Mode: string(dl.EffectiveMode())}
	set := f.MirrorSet(a.Spec.Data.MirrorSet)
	inRegion := "the in-region failover member"
	if set != nil {
		primaryRegion := ""
		var failover []string
		for _, m := range set.Spec.Members {
			if m.Role == v1alpha1.RolePrimary {
				if s := f.Site(m.Site); s != nil {
					primaryRegion = s.Spec.Region
				}
			}
		}
		for _, m := range set.Spec.Members {
			region := ""
			if s := f.Site(m.Site); s != nil {
				region = s.Spec.Region
			}
			switch {
			case m.Role == v1alpha1.RolePrimary:
			case region != primaryRegion:
				out.DR = append(out.DR, m.Name)
			case m.Role == v1alpha1.RoleFailover:
				failover = append(failover, m.Name)
			}
		}
		if len(failover) > 0 {
			inRegion = strings.Join(failover, " or ")
		}
		if r := set.Spec.Replication; r != nil && r.Synchronous != nil && !*r.Synchronous {
			inRegion = ""
		}
	}
	dr := "the DR member"
	if len(out.DR) > 0 {
		dr = strings.Join(out.DR, " or ")
	}
	local := ""
	if inRegion != "" {
		local = inRegion + " and "
	}
	switch dl.EffectiveMode() {
	case v1alpha1.DataLossBounded:
		b := dl.Bound.Duration.String()
		out.Bound = b
		out.Commits = local + "the bound keeper, which lets a commit through only while " + dr + " confirmed the writes older than " + b + " (otherwise commits wait)"
		out.Loss = "at most " + b + " of writes, lost or cut off"
	case v1alpha1.DataLossSynchronous:
		out.Commits = local + dr + ": one round trip across regions each"
		out.Loss = "no acknowledged write, lost or cut off"
	default:
		if inRegion != "" {
			out.Commits = inRegion
		} else {
			out.Commits = "the primary alone"
		}
		out.Loss = "lost: the replication lag to " + dr + "; cut off: the lag and what it acknowledges until its daemon fences it (about 2 s)"
	}
	return out
}

func siteOf(s *v1alpha1.Site, members map[string][]ZoneMember) Site {
	out := Site{Name: s.Name, Role: string(s.Spec.Role), KubeContext: s.Spec.KubeContext, Kubeconfig: s.Spec.Kubeconfig, ClientSubnets: s.Spec.ClientSubnets}
	if out.Role == "" {
		out.Role = string(fleet.DefaultSiteRole)
	}
	for _, lb := range s.Spec.LoadBalancers {
		out.LoadBalancers = append(out.LoadBalancers, endpoint(lb))
	}
	if d := s.Spec.Daemon; d != nil {
		out.Daemon = &Daemon{API: endpoint(d.API)}
		if d.Peer != nil {
			e := endpoint(*d.Peer)
			out.Daemon.Peer = &e
		}
		if d.DNS != nil {
			e := endpoint(*d.DNS)
			out.Daemon.DNS = &e
		}
	}
	for _, z := range s.Spec.Zones {
		out.Zones = append(out.Zones, Zone{Name: z, Members: members[s.Name+"/"+z]})
	}
	if m := members[s.Name+"/"]; len(m) > 0 {
		out.Zones = append(out.Zones, Zone{Members: m})
	}
	return out
}

func endpoint(e v1alpha1.Endpoint) Endpoint {
	return Endpoint{Address: e.Address, FromRegions: e.FromRegions}
}

func applicationOf(a *v1alpha1.Application) Application {
	p := a.Spec.Policy
	out := Application{Name: a.Name, Namespace: a.Spec.Namespace, Mode: string(p.Mode), ActiveSite: p.ActiveSite, StandbySites: p.StandbySites, Standby: string(p.Standby)}
	if p.RPO != nil {
		out.RPO = p.RPO.Duration.String()
	}
	if af := p.AutomaticFailover; af != nil && af.Enabled {
		out.AutomaticFailover = &AutomaticFailover{Threshold: dur(af.Threshold, fleet.DefaultThreshold), MinInterval: dur(af.MinInterval, fleet.DefaultMinInterval)}
	}
	for _, c := range p.Capacity {
		out.Capacity = append(out.Capacity, strings.ToLower(c.Kind)+" "+c.Namespace+"/"+c.Name+" → "+strconv.Itoa(int(c.Replicas)))
	}
	if d := a.Spec.DNS; d != nil {
		dns := &DNS{Zone: d.Zone, Name: d.Name, Strategy: string(d.Strategy), TTL: fleet.DefaultTTL, SiteNames: map[string]string{}, Weights: d.Weights}
		if d.TTL != nil {
			dns.TTL = *d.TTL
		}
		for _, s := range append([]string{p.ActiveSite}, p.StandbySites...) {
			n := d.SiteNames[s]
			if n == "" {
				n = strings.ToLower(s) + "." + strings.TrimSuffix(d.Name, ".")
			}
			dns.SiteNames[s] = n
		}
		out.DNS = dns
	}
	if h := a.Spec.Health; h != nil {
		out.Health = Health{Type: string(h.Type), Path: h.Path, Port: h.Port, Interval: dur(h.Interval, fleet.DefaultInterval), Timeout: dur(h.Timeout, fleet.DefaultTimeout), Rise: h.Rise, Fall: h.Fall}
	}
	if a.Spec.Data != nil {
		out.MirrorSet = a.Spec.Data.MirrorSet
	}
	return out
}

// dur prints d, or def when the fleet left it out.
func dur(d *metav1.Duration, def time.Duration) string {
	if d == nil {
		return def.String()
	}
	return d.Duration.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
