package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/internal/objects"
)

// Probe is one imported Service tried from one site.
type Probe struct {
	Service  string        `json:"service"`
	From     string        `json:"from"`
	Exporter string        `json:"exporter"`
	Address  string        `json:"address"`
	OK       bool          `json:"ok"`
	Latency  time.Duration `json:"latencyNs"`
	Error    string        `json:"error,omitempty"`
}

// dialTimeout bounds one TCP connect.
const dialTimeout = 3 * time.Second

// CheckConnectivity reads the imports of every member and connects to each address
// they resolve to: the EndpointSlice's addresses, or the ExternalName resolved by the
// system resolver. The address is the exporter's as seen from the member's region, so
// in the lab the connect crosses the link between the two regions.
func CheckConnectivity(ctx context.Context, app string, ns string, members []Member) ([]Probe, error) {
	var out []Probe
	for _, m := range members {
		sctx, cancel := context.WithTimeout(ctx, callTimeout)
		svcs, err := m.Conn.Kube.CoreV1().Services(ns).List(sctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("site %s: list services: %w", m.Site.Name, err)
		}
		for _, svc := range svcs.Items {
			if svc.Annotations[objects.AnnotationImportedFrom] == "" || svc.Annotations[objects.AnnotationApplication] != app {
				continue
			}
			addrs, err := importAddresses(ctx, m, &svc)
			base := Probe{Service: svc.Name, From: m.Site.Name, Exporter: svc.Annotations[objects.AnnotationImportedFrom]}
			if err != nil {
				base.Error = err.Error()
				out = append(out, base)
				continue
			}
			for _, a := range addrs {
				p := base
				p.Address = a
				p.Latency, err = dial(ctx, a)
				p.OK = err == nil
				if err != nil {
					p.Error = fmt.Errorf("%w: %w", ErrUnreachable, err).Error()
				}
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func importAddresses(ctx context.Context, m Member, svc *corev1.Service) ([]string, error) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if len(svc.Spec.Ports) == 0 {
			return nil, errors.New("ExternalName import without ports")
		}
		rctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		ips, err := net.DefaultResolver.LookupHost(rctx, svc.Spec.ExternalName)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", svc.Spec.ExternalName, err)
		}
		port := strconv.Itoa(int(svc.Spec.Ports[0].Port))
		if _, p, err := net.SplitHostPort(svc.Annotations[AnnotationAddress]); err == nil {
			port = p // the exporter's port, which the ExternalName cannot carry
		}
		var out []string
		for _, ip := range ips {
			out = append(out, net.JoinHostPort(ip, port))
		}
		return out, nil
	}
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	slices, err := m.Conn.Kube.DiscoveryV1().EndpointSlices(svc.Namespace).List(sctx,
		metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc.Name})
	if err != nil {
		return nil, fmt.Errorf("site %s: list endpoint slices of %s: %w", m.Site.Name, svc.Name, err)
	}
	var out []string
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			for _, a := range ep.Addresses {
				for _, p := range sl.Ports {
					if p.Port != nil {
						out = append(out, net.JoinHostPort(a, strconv.Itoa(int(*p.Port))))
					}
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("site %s: no endpoint slice addresses for %s", m.Site.Name, svc.Name)
	}
	return out, nil
}

func dial(ctx context.Context, addr string) (time.Duration, error) {
	start := time.Now()
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	c.Close()
	return took, nil
}
