package topology

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
)

// Who answers the demo's names for clients (Config.DNS).
const (
	DNSHadron      = "hadron"
	DNSBind        = "bind"
	DNSExternalDNS = "external-dns"
)

// The company DNS of dns: bind and external-dns: one BIND 9 primary for the demo's
// zone, counted in the witness's region (a region that fails with neither workload
// site). named listens only on addresses of an interface, and the regions' 127.0.N.x
// addresses are not, so it listens on 127.0.0.1 at a port per lab (corpDNSPort + the
// region's number). The daemons reach it through the region links (RFC 2136 and zone
// transfers are TCP); clients and verify ask it directly over UDP.
const (
	corpDNSPort = 15300
	// CorpTSIGKey is the name of the key that signs updates and transfers.
	CorpTSIGKey = "hadron-lab."
	// CorpOwner is the owner id hadron (or external-dns) writes beside the records.
	CorpOwner = "hadron-lab"
	// CorpProvider is the DNSProvider's name in the lab's fleet.
	CorpProvider = "corp-dns"
)

// CorpDNSEnabled says whether the lab runs the company DNS.
func (c Config) CorpDNSEnabled() bool { return c.DNS == DNSBind || c.DNS == DNSExternalDNS }

// CorpDNSSite is the site whose region hosts the company DNS: the witness, else the
// last site.
func (c Config) CorpDNSSite() Site { return c.witnessSite() }

// CorpDNS is the company DNS's address.
func (c Config) CorpDNS() string { return hostPort(c.CorpDNSIP(), c.CorpDNSPort()) }

// CorpDNSIP and CorpDNSPort are where named listens.
func (c Config) CorpDNSIP() string { return "127.0.0.1" }
func (c Config) CorpDNSPort() int  { return corpDNSPort + c.CorpDNSSite().Index }

// corpDNSIn is the address in the witness region's range that the links proxy the
// company DNS as.
func (c Config) corpDNSIn() string { return hostPort(c.CorpDNSSite().ip(53), c.CorpDNSPort()) }

// corpDNSServer is the company DNS as each region reaches it: through the link.
func (c Config) corpDNSServer() v1alpha1.Endpoint {
	e := v1alpha1.Endpoint{Address: c.CorpDNS(), FromRegions: map[string]string{}}
	to := c.CorpDNSSite()
	for _, from := range c.Indexed() {
		if from.Index != to.Index {
			if via, err := Via(from.Index, to.Index, c.corpDNSIn()); err == nil {
				e.FromRegions[from.Region] = via
			}
		}
	}
	return e
}

// DNSProvider is the fleet's provider for the company DNS; nil with dns: hadron.
func (c Config) DNSProvider(p Paths) *v1alpha1.DNSProvider {
	if !c.CorpDNSEnabled() {
		return nil
	}
	dp := &v1alpha1.DNSProvider{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindDNSProvider},
		ObjectMeta: metav1.ObjectMeta{Name: CorpProvider},
		Spec: v1alpha1.DNSProviderSpec{
			Zone:   DemoZone,
			Owner:  CorpOwner,
			Verify: []v1alpha1.Endpoint{{Address: c.CorpDNS()}},
		},
	}
	if c.DNS == DNSBind {
		dp.Spec.Type = v1alpha1.DNSProviderRFC2136
		dp.Spec.RFC2136 = &v1alpha1.RFC2136Provider{
			Server: c.corpDNSServer(),
			TSIG:   &v1alpha1.TSIGKey{Name: CorpTSIGKey, SecretFrom: v1alpha1.SecretRef{File: p.TSIGFile}},
		}
		return dp
	}
	dp.Spec.Type = v1alpha1.DNSProviderDNSEndpoint
	return dp
}
