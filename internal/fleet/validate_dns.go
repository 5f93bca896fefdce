package fleet

import (
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/util/validation"

	"hadron.dev/hadron/api/v1alpha1"
)

// Defaults of a DNSProvider.
const (
	DefaultDNSOwner         = "hadron"
	DefaultProviderInterval = 30 * time.Second
	DefaultTSIGAlgorithm    = "hmac-sha256"
)

// tsigAlgorithms are the TSIG algorithms BIND and miekg/dns both sign with.
var tsigAlgorithms = []string{"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1"}

// dnsProvider checks one DNSProvider.
func (c *checker) dnsProvider(p *v1alpha1.DNSProvider) {
	d := c.doc(p, v1alpha1.KindDNSProvider, p.Name)
	s := &p.Spec
	if d.required("spec.type", string(s.Type)) {
		oneOf(d, "spec.type", s.Type, v1alpha1.DNSProviderRFC2136, v1alpha1.DNSProviderDNSEndpoint)
	}
	zone := ""
	if d.required("spec.zone", s.Zone) {
		if _, ok := dns.IsDomainName(s.Zone); !ok {
			d.bad("spec.zone", "%q is not a domain name", s.Zone)
		} else {
			zone = strings.ToLower(dns.Fqdn(s.Zone))
		}
	}
	if s.Owner != "" {
		if msgs := validation.IsDNS1123Label(s.Owner); len(msgs) > 0 {
			d.bad("spec.owner", "%q is not a DNS label (it names the provider's fence record): %s", s.Owner, msgs[0])
		}
	}
	for i, name := range s.Applications {
		path := fmt.Sprintf("spec.applications[%d]", i)
		a := c.f.Application(name)
		if a == nil {
			d.bad(path, "application %q is not defined%s", name, didYouMean(name, c.appNames()))
			continue
		}
		if a.Spec.DNS == nil {
			d.bad(path, "application %q has no spec.dns: it has no name to write", name)
			continue
		}
		if zone != "" && !dns.IsSubDomain(zone, strings.ToLower(dns.Fqdn(a.Spec.DNS.Name))) {
			d.bad(path, "the main name %s of application %q is not inside zone %s", a.Spec.DNS.Name, name, s.Zone)
		}
	}
	for i, e := range s.Verify {
		d.endpoint(fmt.Sprintf("spec.verify[%d]", i), e)
	}
	if s.Interval != nil && (s.Interval.Duration < time.Second || s.Interval.Duration > time.Hour) {
		d.bad("spec.interval", "%s is outside 1s to 1h", s.Interval.Duration)
	}
	switch s.Type {
	case v1alpha1.DNSProviderRFC2136:
		if s.DNSEndpoint != nil {
			d.bad("spec.dnsEndpoint", "set only for type dnsendpoint")
		}
		r := s.RFC2136
		if r == nil {
			d.bad("spec.rfc2136", "required for type rfc2136 (server and tsig)")
			return
		}
		d.endpoint("spec.rfc2136.server", r.Server)
		switch {
		case r.TSIG == nil && !r.InsecureUnsigned:
			d.bad("spec.rfc2136.tsig", "required: updates are signed (set insecureUnsigned: true only for a server that allows unsigned updates by address)")
		case r.TSIG != nil && r.InsecureUnsigned:
			d.bad("spec.rfc2136.insecureUnsigned", "a TSIG key is set: leave insecureUnsigned out")
		case r.TSIG != nil:
			t := r.TSIG
			if d.required("spec.rfc2136.tsig.name", t.Name) {
				if _, ok := dns.IsDomainName(t.Name); !ok {
					d.bad("spec.rfc2136.tsig.name", "%q is not a domain name", t.Name)
				}
			}
			if t.Algorithm != "" {
				oneOf(d, "spec.rfc2136.tsig.algorithm", strings.ToLower(t.Algorithm), tsigAlgorithms...)
			}
			c.source(d, "spec.rfc2136.tsig.secretFrom", &t.SecretFrom)
		}
	case v1alpha1.DNSProviderDNSEndpoint:
		if s.RFC2136 != nil {
			d.bad("spec.rfc2136", "set only for type rfc2136")
		}
		if e := s.DNSEndpoint; e != nil {
			for i, name := range e.Sites {
				path := fmt.Sprintf("spec.dnsEndpoint.sites[%d]", i)
				if site := d.workloadSiteRef(path, name); site != nil && site.Spec.KubeContext == "" {
					d.bad(path, "site %q has no spec.kubeContext: hadron reaches no cluster there to write DNSEndpoints to", name)
				}
			}
			if e.Namespace != "" {
				if msgs := validation.IsDNS1123Label(e.Namespace); len(msgs) > 0 {
					d.bad("spec.dnsEndpoint.namespace", "%q is not a namespace name: %s", e.Namespace, msgs[0])
				}
			}
		}
	}
}

func (c *checker) appNames() []string {
	out := make([]string, 0, len(c.f.Applications))
	for _, a := range c.f.Applications {
		out = append(out, a.Name)
	}
	return out
}

func defaultDNSProvider(p *v1alpha1.DNSProvider) {
	s := &p.Spec
	if s.Owner == "" {
		s.Owner = DefaultDNSOwner
	}
	if s.RFC2136 != nil && s.RFC2136.TSIG != nil && s.RFC2136.TSIG.Algorithm == "" {
		s.RFC2136.TSIG.Algorithm = DefaultTSIGAlgorithm
	}
}
