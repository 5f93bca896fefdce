package fleet

import (
	"strings"
	"testing"
)

const dnsBase = `
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec: {region: us-east, kubeContext: east, loadBalancers: [{address: "192.0.2.10:443"}]}
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: witness}
spec: {region: us-west, role: witness, daemon: {api: {address: "10.0.1.1:7443"}}}
---
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  namespace: shop
  policy: {mode: active-passive, activeSite: east}
  dns: {zone: gslb.example.com, name: shop.gslb.example.com}
---
apiVersion: hadron.dev/v1alpha1
kind: DNSProvider
metadata: {name: corp}
`

func TestDNSProviderValidation(t *testing.T) {
	const at = `fleet.yaml: DNSProvider "corp": `
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"valid rfc2136", `spec: {type: rfc2136, zone: gslb.example.com, rfc2136: {server: {address: "10.0.0.53:53"}, tsig: {name: hadron, secretFrom: {env: K}}}}`, nil},
		{"valid dnsendpoint", `spec: {type: dnsendpoint, zone: example.com, owner: fleet-a, dnsEndpoint: {sites: [east]}}`, nil},
		{"missing type and zone", `spec: {}`, []string{at + "spec.type: required", at + "spec.zone: required"}},
		{"unsigned without saying so", `spec: {type: rfc2136, zone: gslb.example.com, rfc2136: {server: {address: "10.0.0.53:53"}}}`,
			[]string{at + "spec.rfc2136.tsig: required: updates are signed"}},
		{"no rfc2136 block", `spec: {type: rfc2136, zone: gslb.example.com}`, []string{at + "spec.rfc2136: required for type rfc2136"}},
		{"two secrets", `spec: {type: rfc2136, zone: gslb.example.com, rfc2136: {server: {address: "10.0.0.53:53"}, tsig: {name: k, secretFrom: {env: K, file: f}}}}`,
			[]string{at + "spec.rfc2136.tsig.secretFrom: set exactly one of file, env, secret (found 2)"}},
		{"bad algorithm", `spec: {type: rfc2136, zone: gslb.example.com, rfc2136: {server: {address: "10.0.0.53:53"}, tsig: {name: k, algorithm: md5, secretFrom: {env: K}}}}`,
			[]string{at + `spec.rfc2136.tsig.algorithm: "md5" is not one of`}},
		{"owner not a label", `spec: {type: dnsendpoint, zone: example.com, owner: "Fleet.A"}`, []string{at + `spec.owner: "Fleet.A" is not a DNS label`}},
		{"application outside the zone", `spec: {type: dnsendpoint, zone: other.example.org, applications: [shop]}`,
			[]string{at + `spec.applications[0]: the main name shop.gslb.example.com of application "shop" is not inside zone other.example.org`}},
		{"unknown application", `spec: {type: dnsendpoint, zone: example.com, applications: [shp]}`, []string{at + `spec.applications[0]: application "shp" is not defined (did you mean "shop"?)`}},
		{"witness cluster", `spec: {type: dnsendpoint, zone: example.com, dnsEndpoint: {sites: [witness]}}`, []string{at + `spec.dnsEndpoint.sites[0]: site "witness" is a witness`}},
		{"interval", `spec: {type: dnsendpoint, zone: example.com, interval: 10ms}`, []string{at + "spec.interval: 10ms is outside 1s to 1h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(Source{Name: "fleet.yaml", Data: []byte(dnsBase + tc.spec + "\n")})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("valid provider refused:\n%v", err)
				}
				if p := f.DNSProvider("corp"); p == nil || p.Spec.Owner == "" {
					t.Fatalf("defaults not applied: %+v", p)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want a line with\n  %s\ngot:\n%v", w, err)
				}
			}
		})
	}
}
