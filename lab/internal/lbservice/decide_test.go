package lbservice

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestChooseAddress(t *testing.T) {
	const prefix = "127.0.3."
	full := map[string]bool{}
	for n := poolFirst; n <= poolLast; n++ {
		full[prefix+strconv.Itoa(n)] = true
	}
	for _, tc := range []struct {
		name            string
		requested, prev string
		used            map[string]bool
		want            string
		err             error
	}{
		{name: "first of the pool", want: "127.0.3.200"},
		{name: "lowest free", used: map[string]bool{"127.0.3.200": true, "127.0.3.202": true}, want: "127.0.3.201"},
		{name: "requested inside", requested: "127.0.3.10", want: "127.0.3.10"},
		{name: "requested wins over prev", requested: "127.0.3.10", prev: "127.0.3.200", want: "127.0.3.10"},
		{name: "requested pool address held by another", requested: "127.0.3.200", used: map[string]bool{"127.0.3.200": true}, want: "127.0.3.200"},
		{name: "requested other site", requested: "127.0.30.1", err: errNotAllowed},
		{name: "requested far away", requested: "10.1.2.3", err: errNotAllowed},
		{name: "requested not an address", requested: "banana", err: errNotAllowed},
		{name: "requested IPv6", requested: "::1", err: errNotAllowed},
		{name: "prev kept", prev: "127.0.3.207", want: "127.0.3.207"},
		{name: "prev taken meanwhile", prev: "127.0.3.207", used: map[string]bool{"127.0.3.207": true}, want: "127.0.3.200"},
		{name: "prev outside the pool", prev: "127.0.3.10", want: "127.0.3.200"},
		{name: "prev of another site", prev: "127.0.4.205", want: "127.0.3.200"},
		{name: "pool exhausted", used: full, err: errPoolExhausted},
		{name: "last one", used: func() map[string]bool {
			m := maps.Clone(full)
			delete(m, "127.0.3.249")
			return m
		}(), want: "127.0.3.249"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseAddress(prefix, tc.requested, tc.prev, tc.used)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("address = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReady(t *testing.T) {
	for _, tc := range []struct {
		ready *bool
		want  bool
	}{{nil, true}, {ptrTo(true), true}, {ptrTo(false), false}} {
		if got := ready(discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: tc.ready}}); got != tc.want {
			t.Errorf("ready(%v) = %v, want %v", tc.ready, got, tc.want)
		}
	}
}

func TestEndpointPort(t *testing.T) {
	udp := ptrTo(corev1.ProtocolUDP)
	port := func(name string, p int32, proto *corev1.Protocol) discoveryv1.EndpointPort {
		ep := discoveryv1.EndpointPort{Port: ptrTo(p), Protocol: proto}
		if name != "" {
			ep.Name = ptrTo(name)
		}
		return ep
	}
	sp := func(name string, proto corev1.Protocol, p int32, target intstr.IntOrString) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Protocol: proto, Port: p, TargetPort: target}
	}
	for _, tc := range []struct {
		name  string
		ports []discoveryv1.EndpointPort
		sp    corev1.ServicePort
		want  int32
		ok    bool
	}{
		{name: "by name", ports: []discoveryv1.EndpointPort{port("tcp", 17001, nil), port("udp", 17002, udp)},
			sp: sp("tcp", corev1.ProtocolTCP, 7001, intstr.FromInt32(80)), want: 17001, ok: true},
		{name: "by name udp", ports: []discoveryv1.EndpointPort{port("tcp", 17001, nil), port("udp", 17002, udp)},
			sp: sp("udp", corev1.ProtocolUDP, 7002, intstr.FromInt32(80)), want: 17002, ok: true},
		{name: "name with other protocol", ports: []discoveryv1.EndpointPort{port("dns", 53, nil), port("other", 54, nil)},
			sp: sp("dns", corev1.ProtocolUDP, 53, intstr.FromInt32(53))},
		{name: "unnamed both", ports: []discoveryv1.EndpointPort{port("", 8080, nil)},
			sp: sp("", "", 80, intstr.FromInt32(9999)), want: 8080, ok: true},
		{name: "single unnamed takes numeric targetPort", ports: []discoveryv1.EndpointPort{port("", 8080, nil)},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromInt32(9090)), want: 9090, ok: true},
		{name: "single unnamed, named targetPort", ports: []discoveryv1.EndpointPort{port("", 8080, nil)},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromString("http")), want: 8080, ok: true},
		{name: "single unrestricted port, no targetPort", ports: []discoveryv1.EndpointPort{{}},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.IntOrString{}), want: 80, ok: true},
		{name: "single unnamed of other protocol", ports: []discoveryv1.EndpointPort{port("", 8080, udp)},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromInt32(9090))},
		{name: "single named other", ports: []discoveryv1.EndpointPort{port("metrics", 9100, nil)},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromInt32(9090))},
		{name: "two unnamed-ish, no match", ports: []discoveryv1.EndpointPort{port("a", 1, nil), port("b", 2, nil)},
			sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromInt32(9090))},
		{name: "no ports", sp: sp("web", corev1.ProtocolTCP, 80, intstr.FromInt32(9090))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := endpointPort(tc.ports, tc.sp)
			if got != tc.want || ok != tc.ok {
				t.Errorf("endpointPort = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBackends(t *testing.T) {
	sp := corev1.ServicePort{Name: "tcp", Protocol: corev1.ProtocolTCP, Port: 7001, TargetPort: intstr.FromInt32(7001)}
	ports := []discoveryv1.EndpointPort{{Name: ptrTo("tcp"), Port: ptrTo[int32](17001)}}
	ep := func(ready *bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	for _, tc := range []struct {
		name   string
		slices []*discoveryv1.EndpointSlice
		want   []string
	}{
		{name: "none"},
		{name: "ready filtered and sorted", slices: []*discoveryv1.EndpointSlice{{Ports: ports, Endpoints: []discoveryv1.Endpoint{
			ep(nil, "10.244.3.9"), ep(ptrTo(false), "10.244.3.7"), ep(ptrTo(true), "10.244.3.11"), ep(nil),
		}}}, want: []string{"10.244.3.11:17001", "10.244.3.9:17001"}},
		{name: "first address only", slices: []*discoveryv1.EndpointSlice{{Ports: ports, Endpoints: []discoveryv1.Endpoint{
			ep(nil, "10.244.3.9", "10.244.3.10"),
		}}}, want: []string{"10.244.3.9:17001"}},
		{name: "duplicate across slices, each its port", slices: []*discoveryv1.EndpointSlice{
			{Ports: ports, Endpoints: []discoveryv1.Endpoint{ep(nil, "10.244.3.9")}},
			{Ports: ports, Endpoints: []discoveryv1.Endpoint{ep(nil, "10.244.3.9")}},
			{Ports: []discoveryv1.EndpointPort{{Name: ptrTo("tcp"), Port: ptrTo[int32](18001)}}, Endpoints: []discoveryv1.Endpoint{ep(nil, "10.244.3.1")}},
		}, want: []string{"10.244.3.1:18001", "10.244.3.9:17001"}},
		{name: "slice without the port", slices: []*discoveryv1.EndpointSlice{
			{Ports: []discoveryv1.EndpointPort{{Name: ptrTo("udp"), Port: ptrTo[int32](17002)}, {Name: ptrTo("x"), Port: ptrTo[int32](1)}},
				Endpoints: []discoveryv1.Endpoint{ep(nil, "10.244.3.9")}},
		}},
		{name: "IPv6", slices: []*discoveryv1.EndpointSlice{{Ports: ports, Endpoints: []discoveryv1.Endpoint{ep(nil, "fd00::1")}}},
			want: []string{"[fd00::1]:17001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := backends(tc.slices, sp); !slices.Equal(got, tc.want) {
				t.Errorf("backends = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInPrefix(t *testing.T) {
	for _, tc := range []struct {
		ip         string
		in, inPool bool
	}{
		{"127.0.3.1", true, false},
		{"127.0.3.200", true, true},
		{"127.0.3.249", true, true},
		{"127.0.3.250", true, false},
		{"127.0.3.199", true, false},
		{"127.0.30.200", false, false},
		{"127.0.3.010", false, false},
		{"::ffff:127.0.3.200", false, false},
		{"", false, false},
	} {
		if got := inPrefix("127.0.3.", tc.ip); got != tc.in {
			t.Errorf("inPrefix(%q) = %v, want %v", tc.ip, got, tc.in)
		}
		if got := inPool("127.0.3.", tc.ip); got != tc.inPool {
			t.Errorf("inPool(%q) = %v, want %v", tc.ip, got, tc.inPool)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
