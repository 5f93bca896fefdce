package topology

import (
	"bytes"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
)

// Demo application constants shared by the fleet file, the ingress and the manifests
// in demo/manifests.
const (
	DemoApp        = "shop"
	DemoNamespace  = "shop"
	DemoDeployment = "shop-web"
	DemoMirrorSet  = "shop-db"
	DemoDatabase   = "shop"
	DemoZone       = "gslb.example.com"
	DemoName       = "shop.gslb.example.com"
	DemoDBUser     = "hadron"
	DemoDBSecret   = "shop-db-credentials"
	DemoConfigMap  = "shop-web-config"
	partOfLabel    = "app.kubernetes.io/part-of"
)

// KubeContext is the kubeconfig context of a lab site.
func KubeContext(site string) string { return "hadron-lab-" + site }

// Paths are where the lab keeps the files the fleet refers to.
type Paths struct {
	Kubeconfig   string
	PasswordFile string
	PostgresDir  string // member data directories live in PostgresDir/<member>
	// TSIGFile holds the base64 secret of the company DNS's update key (dns: bind).
	TSIGFile string
	// PostgresCerts holds each member's server certificate and key
	// (<member>.crt, <member>.key) signed by the CA certificate CACert; with both set
	// the mirror set runs over TLS in mode verify-full.
	PostgresCerts string
	CACert        string
	// ObjectStoreDir holds the object store's certificate and the demo repository's
	// key and passphrase files (backups on).
	ObjectStoreDir string
}

// MemberCert is where member's server certificate and key are under dir.
func MemberCert(dir, member string) (crt, key string) {
	base := filepath.Join(dir, member)
	return base + ".crt", base + ".key"
}

// endpoint gives addr (owned by site s) with its address as seen from every other region.
func (c Config) endpoint(s Site, addr string) v1alpha1.Endpoint {
	return c.endpointIn(s, addr, addr)
}

// endpointIn is endpoint for a service outside the region's range (a member in a
// pod, at the pod gateway) for which the links listen as if it were at in.
func (c Config) endpointIn(s Site, addr, in string) v1alpha1.Endpoint {
	e := v1alpha1.Endpoint{Address: addr}
	for _, from := range c.Indexed() {
		if from.Index == s.Index {
			continue
		}
		if via, err := Via(from.Index, s.Index, in); err == nil {
			if e.FromRegions == nil {
				e.FromRegions = map[string]string{}
			}
			e.FromRegions[from.Region] = via
		}
	}
	return e
}

// memberEndpoint is member m's address in the fleet, m being the set's k-th member. A
// member in a pod is at its site's pod gateway, and every other region with a gateway
// dials it at its own gateway's port k, which forwards through the link (LinkTo): a
// pod cannot reach the links' 127 listeners, and with one address per member and
// region hadron can tell whom a stand-by streams from, whoever reports it. Regions
// without a gateway (the witness) dial the link's listener.
func (c Config) memberEndpoint(s Site, m Member, k int) v1alpha1.Endpoint {
	e := c.endpointIn(s, m.Address, m.at())
	if !m.Pod {
		return e
	}
	for _, from := range c.Indexed() {
		if from.Index != s.Index && c.HasPodGateway(from) {
			if e.FromRegions == nil {
				e.FromRegions = map[string]string{}
			}
			e.FromRegions[from.Region] = hostPort(from.PodGateway(), PodMemberPort(k))
		}
	}
	return e
}

// HasPodGateway says whether site s runs a pod gateway: a workload site with real
// nodes, in a lab with the demo's mirror set.
func (c Config) HasPodGateway(s Site) bool {
	return c.DemoEnabled() && s.Workload() && c.RealNodesOf(s) > 0
}

// LinkTo is where a host process of site from reaches member m, which is not one of
// from's own pods: the member's address in its own site, the link's listener across
// regions. Pod gateways forward there.
func (c Config) LinkTo(from Site, m Member) (string, error) {
	ms, ok := c.Site(m.Site)
	if !ok {
		return "", fmt.Errorf("member %s: no site %s", m.Name, m.Site)
	}
	if ms.Index == from.Index {
		return m.at(), nil
	}
	return Via(from.Index, ms.Index, m.at())
}

// Fleet returns the objects of a fleet file that describes the lab.
func (c Config) Fleet(p Paths) (sites []v1alpha1.Site, apps []v1alpha1.Application, sets []v1alpha1.MirrorSet) {
	tm := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: kind}
	}
	var active string
	var standbys []string
	for _, s := range c.Indexed() {
		peer, dns := c.endpoint(s, s.EtcdPeer()), v1alpha1.Endpoint{Address: s.DNS()}
		site := v1alpha1.Site{
			TypeMeta:   tm(v1alpha1.KindSite),
			ObjectMeta: metav1.ObjectMeta{Name: s.Name},
			Spec: v1alpha1.SiteSpec{
				Region:        s.Region,
				Zones:         s.Zones,
				Role:          v1alpha1.SiteRole(s.Role),
				Daemon:        &v1alpha1.DaemonSpec{API: c.endpoint(s, s.DaemonAPI()), Peer: &peer, DNS: &dns},
				ClientSubnets: []string{fmt.Sprintf("127.0.%d.0/24", s.Index), fmt.Sprintf("127.%d.0.0/16", s.Index)},
			},
		}
		if c.Clustered(s) {
			site.Spec.KubeContext = KubeContext(s.Name)
			site.Spec.Kubeconfig = p.Kubeconfig
		}
		if s.Workload() {
			site.Spec.LoadBalancers = []v1alpha1.Endpoint{c.endpoint(s, s.Ingress())}
			if active == "" {
				active = s.Name
			} else {
				standbys = append(standbys, s.Name)
			}
		}
		sites = append(sites, site)
	}
	if !c.DemoEnabled() || active == "" {
		return sites, nil, nil
	}
	app := pilotLightApp(DemoApp, DemoNamespace, DemoName, "/healthz", active, standbys)
	app.Spec.Policy.DataLoss = c.dataLossPolicy()
	app.Spec.Data = &v1alpha1.DataRef{MirrorSet: DemoMirrorSet}
	app.Spec.Replication = &v1alpha1.ObjectReplication{
		// The database password travels with the application (seed 001's shared
		// secrets); every other Secret stays where it is.
		Secrets: []string{DemoDBSecret},
		// Every workload site gets its rule: after a failover the old active
		// site is the stand-by that replication writes to.
		Rules: siteRules(append([]string{active}, standbys...)),
	}
	sync := true
	set := v1alpha1.MirrorSet{
		TypeMeta:   tm(v1alpha1.KindMirrorSet),
		ObjectMeta: metav1.ObjectMeta{Name: DemoMirrorSet},
		Spec: v1alpha1.MirrorSetSpec{
			Engine:      v1alpha1.EnginePostgres,
			Database:    DemoDatabase,
			Credentials: &v1alpha1.Credentials{User: DemoDBUser, PasswordFrom: &v1alpha1.SecretRef{File: p.PasswordFile}},
			Replication: &v1alpha1.Replication{Synchronous: &sync},
			Backup:      c.backup(p),
		},
	}
	if p.PostgresCerts != "" && p.CACert != "" {
		set.Spec.TLS = &v1alpha1.TLS{Mode: v1alpha1.TLSVerifyFull, CA: &v1alpha1.SecretRef{File: p.CACert}}
		for _, m := range c.Members() {
			crt, key := MemberCert(p.PostgresCerts, m.Name)
			set.Spec.TLS.Members = append(set.Spec.TLS.Members, v1alpha1.MemberCertificate{
				Member: m.Name, Cert: &v1alpha1.SecretRef{File: crt}, Key: &v1alpha1.SecretRef{File: key}})
		}
	}
	for k, m := range c.Members() {
		s, _ := c.Site(m.Site)
		set.Spec.Members = append(set.Spec.Members, v1alpha1.Member{
			Name:    m.Name,
			Site:    m.Site,
			Zone:    m.Zone,
			Role:    v1alpha1.MemberRole(m.Role),
			Address: c.memberEndpoint(s, m, k),
			DataDir: filepath.Join(p.PostgresDir, m.Name),
		})
		if m.Pod {
			// Its data directory is on its pod's volume: the driver asks the pod.
			set.Spec.Members[len(set.Spec.Members)-1].DataDir = ""
			set.Spec.Members[len(set.Spec.Members)-1].Pod = &v1alpha1.MemberPod{Namespace: DemoNamespace}
		}
	}
	return sites, append([]v1alpha1.Application{app}, c.lightApps(active, standbys)...), []v1alpha1.MirrorSet{set}
}

// pilotLightApp is the lab's application policy, the demo's and every light
// application's: active-passive, a pilot-light stand-by, automatic failover, the main
// name in the demo zone with a 10 s TTL and an HTTP health check at path.
func pilotLightApp(name, namespace, dnsName, path, active string, standbys []string) v1alpha1.Application {
	d := func(t time.Duration) *metav1.Duration { return &metav1.Duration{Duration: t} }
	ttl := int32(10)
	return v1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApplication},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ApplicationSpec{
			Namespace: namespace,
			Selector:  &metav1.LabelSelector{MatchLabels: map[string]string{partOfLabel: name}},
			Policy: v1alpha1.Policy{
				Mode:         v1alpha1.ModeActivePassive,
				ActiveSite:   active,
				StandbySites: standbys,
				Standby:      v1alpha1.StandbyPilotLight,
				// The verdict already needs fall (3) failed probes in a row, seconds
				// apart; the threshold adds only one look of the leader on top.
				AutomaticFailover: &v1alpha1.AutomaticFailover{Enabled: true, Threshold: d(250 * time.Millisecond), MinInterval: d(10 * time.Minute)},
			},
			DNS:    &v1alpha1.DNS{Zone: DemoZone, Name: dnsName, TTL: &ttl, Strategy: v1alpha1.StrategyFailover},
			Health: &v1alpha1.Health{Type: v1alpha1.ProbeHTTP, Path: path, Interval: d(time.Second), Timeout: d(time.Second), Rise: 2, Fall: 3},
		},
	}
}

// dataLossPolicy is the demo's spec.policy.dataLoss; nil (hadron's async default)
// when lab.yaml names none, so an unchanged lab.yaml gives an unchanged fleet file.
func (c Config) dataLossPolicy() *v1alpha1.DataLoss {
	if c.DataLoss == nil {
		return nil
	}
	dl := &v1alpha1.DataLoss{Mode: v1alpha1.DataLossMode(c.DataLoss.Mode)}
	if c.DataLoss.Bound != nil {
		dl.Bound = &metav1.Duration{Duration: c.DataLoss.Bound.Duration}
	}
	return dl
}

// FleetYAML renders Fleet as a multi-document YAML file.
func (c Config) FleetYAML(p Paths) ([]byte, error) {
	sites, apps, sets := c.Fleet(p)
	var docs []any
	for i := range sites {
		docs = append(docs, sites[i])
	}
	for i := range apps {
		docs = append(docs, apps[i])
	}
	for i := range sets {
		docs = append(docs, sets[i])
	}
	if dp := c.DNSProvider(p); dp != nil {
		docs = append(docs, *dp)
	}
	var buf bytes.Buffer
	buf.WriteString("# The fleet of the hadron lab, written by `hadron lab up`. Copy it to start your own.\n")
	for _, d := range docs {
		b, err := cleanYAML(d)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// cleanYAML marshals v without the empty creationTimestamp ObjectMeta carries.
func cleanYAML(v any) ([]byte, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render fleet: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("render fleet: %w", err)
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

// siteRules make each stand-by's copy of the demo's settings name its own site.
func siteRules(sites []string) []v1alpha1.ReplicationRule {
	var out []v1alpha1.ReplicationRule
	for _, s := range sites {
		out = append(out, v1alpha1.ReplicationRule{
			Sites:      []string{s},
			Kinds:      []string{"ConfigMap"},
			Name:       DemoConfigMap,
			MergePatch: []byte(fmt.Sprintf(`{"data":{"HADRON_DEMO_SITE":%q}}`, s)),
		})
	}
	return out
}
