package lbservice

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The pool a Service without spec.loadBalancerIP draws from: Prefix+poolFirst ..
// Prefix+poolLast. The low addresses stay free for the site's own listeners and for
// Services that ask for one.
const (
	poolFirst = 200
	poolLast  = 249
)

var (
	// errNotAllowed: the Service asks for an address this site does not own; serving
	// it would capture another site's traffic.
	errNotAllowed = errors.New("requested address is outside the site's range")
	// errPoolExhausted is transient: an address frees up when a Service goes away.
	errPoolExhausted = errors.New("no free address in the pool")
)

// inPrefix reports whether ip is an IPv4 address in the range that prefix ("127.0.3.")
// names.
func inPrefix(prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return false
	}
	return strings.HasPrefix(a.String(), prefix)
}

// inPool reports whether ip is one of the pool's addresses.
func inPool(prefix, ip string) bool {
	if !inPrefix(prefix, ip) {
		return false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(ip, prefix))
	return err == nil && n >= poolFirst && n <= poolLast
}

// chooseAddress decides a Service's address: the requested one when it is in the
// site's range (errNotAllowed otherwise), else prev when it is a pool address nobody
// else holds — so the address stays put across updates and controller restarts —
// else the lowest free pool address. used holds every address other Services hold
// or ask for.
func chooseAddress(prefix, requested, prev string, used map[string]bool) (string, error) {
	if requested != "" {
		if !inPrefix(prefix, requested) {
			return "", fmt.Errorf("%w: %s not in %s0/24", errNotAllowed, requested, prefix)
		}
		return requested, nil
	}
	if prev != "" && inPool(prefix, prev) && !used[prev] {
		return prev, nil
	}
	for n := poolFirst; n <= poolLast; n++ {
		if a := prefix + strconv.Itoa(n); !used[a] {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w %s%d-%d", errPoolExhausted, prefix, poolFirst, poolLast)
}

// ready reports whether an endpoint takes new connections. A nil Ready means unknown,
// which the EndpointSlice API says consumers should treat as ready.
func ready(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}

// endpointPort picks the backend port for sp among the ports of one EndpointSlice.
// The port of the same name (and protocol) wins. Without one, a slice that carries a
// single unnamed port — typically written by hand, or with its port left open, which
// the API defines as "not restricted" — is taken to serve sp's numeric targetPort
// (or the slice's own port, or sp.Port, the API's default for targetPort).
func endpointPort(ports []discoveryv1.EndpointPort, sp corev1.ServicePort) (int32, bool) {
	proto := func(p *corev1.Protocol) corev1.Protocol {
		if p == nil {
			return corev1.ProtocolTCP
		}
		return *p
	}
	spProto := sp.Protocol
	if spProto == "" {
		spProto = corev1.ProtocolTCP
	}
	for _, p := range ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name == sp.Name && proto(p.Protocol) == spProto && p.Port != nil && *p.Port > 0 {
			return *p.Port, true
		}
	}
	if len(ports) != 1 || (ports[0].Name != nil && *ports[0].Name != "") || proto(ports[0].Protocol) != spProto {
		return 0, false
	}
	switch {
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal > 0:
		return sp.TargetPort.IntVal, true
	case ports[0].Port != nil && *ports[0].Port > 0:
		return *ports[0].Port, true
	case sp.TargetPort.Type == intstr.Int && sp.Port > 0:
		return sp.Port, true
	}
	return 0, false
}

// backends returns host:port of every ready endpoint of slices for sp, sorted and
// without duplicates (an endpoint may sit in two slices while they are rewritten), so
// that round robin walks a stable order. Only an endpoint's first address counts: the
// API says its addresses are one backend, and kube-proxy does the same.
func backends(eps []*discoveryv1.EndpointSlice, sp corev1.ServicePort) []string {
	var out []string
	for _, s := range eps {
		port, ok := endpointPort(s.Ports, sp)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if ready(ep) && len(ep.Addresses) > 0 {
				out = append(out, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
