package provider

import (
	"context"
	"fmt"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/credentials"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/internal/site"
)

// FromFleet builds the fleet's providers as seen from region: the rfc2136 server
// and verify addresses from there, the TSIG secrets read once, a client for every
// site's cluster that gets DNSEndpoints.
func FromFleet(ctx context.Context, f *fleet.Fleet, cat *gslb.Catalog, region string) ([]Provider, error) {
	out := make([]Provider, 0, len(f.DNSProviders))
	for _, d := range f.DNSProviders {
		p, err := One(ctx, f, cat, d, region)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// One builds one provider of the fleet (see FromFleet).
func One(ctx context.Context, f *fleet.Fleet, cat *gslb.Catalog, d *v1alpha1.DNSProvider, region string) (Provider, error) {
	var verify []string
	for _, e := range d.Spec.Verify {
		verify = append(verify, withPort(e.From(region)))
	}
	switch d.Spec.Type {
	case v1alpha1.DNSProviderRFC2136:
		r := d.Spec.RFC2136
		secret := ""
		if r.TSIG != nil {
			s, err := credentials.Password(ctx, &r.TSIG.SecretFrom, f)
			if err != nil {
				return nil, fmt.Errorf("dns provider %s: tsig secret: %w", d.Name, err)
			}
			secret = s
		}
		return NewRFC2136(d.Name, d.Spec, cat, r.Server.From(region), secret, verify)
	case v1alpha1.DNSProviderDNSEndpoint:
		var sites []string
		if e := d.Spec.DNSEndpoint; e != nil {
			sites = e.Sites
		}
		if len(sites) == 0 {
			for _, s := range f.Sites {
				if s.Spec.Role != v1alpha1.SiteRoleWitness && s.Spec.KubeContext != "" {
					sites = append(sites, s.Name)
				}
			}
		}
		var clusters []Cluster
		for _, name := range sites {
			conn, err := site.Connect(f.Site(name), f.Dir)
			if err != nil {
				return nil, fmt.Errorf("dns provider %s: %w", d.Name, err)
			}
			clusters = append(clusters, Cluster{Site: name, Endpoints: func(ns string) *dnsendpoint.Provider {
				return &dnsendpoint.Provider{Client: conn.Dynamic, Namespace: ns}
			}})
		}
		ns := map[string]string{}
		for _, a := range f.Applications {
			ns[a.Name] = a.Spec.Namespace
		}
		return NewDNSEndpoint(d.Name, d.Spec, cat, ns, clusters, verify), nil
	}
	return nil, fmt.Errorf("dns provider %s: type %q: %w", d.Name, d.Spec.Type, errType)
}
