package discovery

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

// ManagedBy is the EndpointSlice managed-by label value of imported slices, so the
// stand-by's EndpointSlice controller leaves them alone.
const ManagedBy = "discovery.hadron.dev"

// AnnotationAddress on an imported ExternalName Service records the exporter's
// address (host:port) it stands for, since an ExternalName cannot remap ports.
const AnnotationAddress = "hadron.dev/imported-address"

// Export is a Service one site offers to the others.
type Export struct {
	Service   string
	Namespace string
	Site      string
	Ports     []corev1.ServicePort
	Labels    map[string]string
	// Endpoint is where other regions reach it (Endpoint.From picks per region).
	Endpoint v1alpha1.Endpoint
	// Err is an export without a usable address; it is reported, not imported.
	Err error
}

// FindExports returns the Services of one site that the application exports: those
// named in spec.replication.exports and those labelled hadron.dev/export=true.
// Services that are themselves imports are never re-exported.
func FindExports(app *v1alpha1.Application, s *v1alpha1.Site, services []corev1.Service) []Export {
	named := map[string]v1alpha1.ServiceExport{}
	if r := app.Spec.Replication; r != nil {
		for _, e := range r.Exports {
			named[e.Service] = e
		}
	}
	var out []Export
	for _, svc := range services {
		spec, listed := named[svc.Name]
		if !listed && svc.Labels[objects.LabelExport] != "true" {
			continue
		}
		if svc.Annotations[objects.AnnotationImportedFrom] != "" {
			continue
		}
		e := Export{Service: svc.Name, Namespace: svc.Namespace, Site: s.Name, Ports: svc.Spec.Ports, Labels: svc.Labels}
		switch {
		case spec.Endpoints[s.Name].Address != "":
			e.Endpoint = spec.Endpoints[s.Name]
		case len(svc.Status.LoadBalancer.Ingress) > 0 && len(svc.Spec.Ports) > 0:
			in := svc.Status.LoadBalancer.Ingress[0]
			host := in.IP
			if host == "" {
				host = in.Hostname
			}
			e.Endpoint = v1alpha1.Endpoint{Address: net.JoinHostPort(host, strconv.Itoa(int(svc.Spec.Ports[0].Port)))}
		case len(s.Spec.LoadBalancers) > 0:
			e.Endpoint = s.Spec.LoadBalancers[0]
		default:
			e.Err = fmt.Errorf("%w: service %s/%s on %s (give spec.replication.exports[].endpoints or a load balancer)", ErrNoAddress, svc.Namespace, svc.Name, s.Name)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Choose picks, for every exported name, the site that serves it to the others: the
// active site when it exports the name, else the first exporting site by name.
func Choose(exports []Export, active string) map[string]Export {
	out := map[string]Export{}
	for _, e := range exports {
		if e.Err != nil {
			continue
		}
		cur, ok := out[e.Service]
		if !ok || (e.Site == active && cur.Site != active) || (cur.Site != active && e.Site < cur.Site) {
			out[e.Service] = e
		}
	}
	return out
}

// Imports builds the objects that make export e reachable on site (in region): a
// Service of the same name, and for an IP address an EndpointSlice. The backend port
// of a single-port Service is the address's port; a multi-port Service is expected
// behind an address that exposes the same ports.
func Imports(app string, e Export, site, region string) ([]*unstructured.Unstructured, error) {
	addr := e.Endpoint.From(region)
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("export %s from %s: address %q: %w", e.Service, e.Site, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("export %s from %s: port %q: %w", e.Service, e.Site, portStr, err)
	}
	labels := map[string]any{objects.LabelSite: site}
	for k, v := range e.Labels {
		if k != objects.LabelExport && k != objects.LabelSite {
			labels[k] = v
		}
	}
	ann := map[string]any{
		objects.AnnotationApplication:  app,
		objects.AnnotationSourceSite:   e.Site,
		objects.AnnotationImportedFrom: e.Site,
	}
	backend := func(p corev1.ServicePort) int64 {
		if len(e.Ports) == 1 {
			return int64(port)
		}
		return int64(p.Port)
	}
	var svcPorts, slicePorts []any
	for _, p := range e.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		sp := map[string]any{"port": int64(p.Port), "protocol": proto, "targetPort": backend(p)}
		sl := map[string]any{"port": backend(p), "protocol": proto, "name": p.Name}
		if p.Name != "" {
			sp["name"] = p.Name
		}
		svcPorts = append(svcPorts, sp)
		slicePorts = append(slicePorts, sl)
	}
	svc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": e.Service, "namespace": e.Namespace, "labels": labels, "annotations": ann},
		"spec":     map[string]any{"ports": svcPorts},
	}}
	ip := net.ParseIP(host)
	// The API server refuses loopback (and link-local) addresses in EndpointSlices; the
	// lab lives on loopback, so such an address becomes an ExternalName holding the IP,
	// which resolves to itself.
	if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		ann[AnnotationAddress] = addr
		spec := svc.Object["spec"].(map[string]any)
		spec["type"] = "ExternalName"
		spec["externalName"] = host
		for _, p := range svcPorts {
			delete(p.(map[string]any), "targetPort")
		}
		return stamp(svc)
	}
	family := "IPv4"
	if ip.To4() == nil {
		family = "IPv6"
	}
	sliceLabels := runtime.DeepCopyJSONValue(labels).(map[string]any)
	sliceLabels["kubernetes.io/service-name"] = e.Service
	sliceLabels["endpointslice.kubernetes.io/managed-by"] = ManagedBy
	slice := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata": map[string]any{"name": SliceName(e.Service), "namespace": e.Namespace, "labels": sliceLabels,
			"annotations": runtime.DeepCopyJSONValue(ann)},
		"addressType": family,
		"endpoints":   []any{map[string]any{"addresses": []any{ip.String()}, "conditions": map[string]any{"ready": true}}},
		"ports":       slicePorts,
	}}
	return stamp(svc, slice)
}

// SliceName is the name of the EndpointSlice of an imported Service.
func SliceName(service string) string {
	const suffix = "-hadron"
	if len(service)+len(suffix) > 63 {
		service = service[:63-len(suffix)]
	}
	return service + suffix
}

func stamp(objs ...*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	for _, o := range objs {
		h, err := objects.ContentHash(o)
		if err != nil {
			return nil, err
		}
		ann := o.GetAnnotations()
		ann[objects.AnnotationContentHash] = h
		o.SetAnnotations(ann)
	}
	return objs, nil
}
