package discovery

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
)

func svc(name string, labels map[string]string, ports ...int32) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels}}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "p" + string(rune('a'+len(s.Spec.Ports))), Port: p, Protocol: corev1.ProtocolTCP})
	}
	return s
}

func TestFindExports(t *testing.T) {
	app := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Replication: &v1alpha1.ObjectReplication{Exports: []v1alpha1.ServiceExport{
		{Service: "db", Endpoints: map[string]v1alpha1.Endpoint{"east": {Address: "10.1.0.5:5432", FromRegions: map[string]string{"us-west-2": "127.2.1.5:5432"}}}},
		{Service: "lb"},
	}}}}
	east := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: "east"}, Spec: v1alpha1.SiteSpec{LoadBalancers: []v1alpha1.Endpoint{{Address: "127.0.1.10:8080"}}}}
	bare := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	withIngress := svc("lb", nil, 80)
	withIngress.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}
	imported := svc("cache", map[string]string{objects.LabelExport: "true"}, 6379)
	imported.Annotations = map[string]string{objects.AnnotationImportedFrom: "west"}
	services := []corev1.Service{svc("db", nil, 5432), withIngress, svc("web", map[string]string{objects.LabelExport: "true"}, 80),
		svc("private", nil, 80), imported}

	got := map[string]string{}
	for _, e := range FindExports(app, east, services) {
		got[e.Service] = e.Endpoint.From("us-west-2")
	}
	want := map[string]string{"db": "127.2.1.5:5432", "lb": "lb.example.com:80", "web": "127.0.1.10:8080"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exports %v, want %v", got, want)
	}
	for _, e := range FindExports(app, bare, []corev1.Service{svc("web", map[string]string{objects.LabelExport: "true"}, 80)}) {
		if !errors.Is(e.Err, ErrNoAddress) {
			t.Errorf("export without address: %v", e.Err)
		}
	}
}

func TestChoose(t *testing.T) {
	ex := []Export{{Service: "a", Site: "west"}, {Service: "a", Site: "east"}, {Service: "b", Site: "west"}, {Service: "b", Site: "south"},
		{Service: "c", Site: "east", Err: ErrNoAddress}}
	got := map[string]string{}
	for n, e := range Choose(ex, "east") {
		got[n] = e.Site
	}
	if want := map[string]string{"a": "east", "b": "south"}; !reflect.DeepEqual(got, want) {
		t.Errorf("chosen %v, want %v", got, want)
	}
}

func TestImports(t *testing.T) {
	e := Export{Service: "db", Namespace: "shop", Site: "east", Labels: map[string]string{"app": "db", objects.LabelExport: "true"},
		Ports:    []corev1.ServicePort{{Name: "pg", Port: 5432}},
		Endpoint: v1alpha1.Endpoint{Address: "10.1.0.5:15432", FromRegions: map[string]string{"us-west-2": "10.2.1.5:15432"}}}
	objs, err := Imports("shop", e, "west", "us-west-2")
	if err != nil || len(objs) != 2 {
		t.Fatalf("imports %v %v", objs, err)
	}
	s, sl := objs[0], objs[1]
	if _, ok, _ := unstructured.NestedMap(s.Object, "spec", "selector"); ok {
		t.Error("imported service has a selector")
	}
	ports, _, _ := unstructured.NestedSlice(s.Object, "spec", "ports")
	if p := ports[0].(map[string]any); p["port"] != int64(5432) || p["targetPort"] != int64(15432) {
		t.Errorf("service port %v", p)
	}
	if a := s.GetAnnotations(); a[objects.AnnotationImportedFrom] != "east" || a[objects.AnnotationContentHash] == "" {
		t.Errorf("annotations %v", a)
	}
	if s.GetLabels()[objects.LabelExport] != "" || s.GetLabels()["app"] != "db" {
		t.Errorf("labels %v", s.GetLabels())
	}
	eps, _, _ := unstructured.NestedSlice(sl.Object, "endpoints")
	addrs := eps[0].(map[string]any)["addresses"]
	if !reflect.DeepEqual(addrs, []any{"10.2.1.5"}) || sl.GetLabels()["kubernetes.io/service-name"] != "db" || sl.Object["addressType"] != "IPv4" {
		t.Errorf("slice %v", sl.Object)
	}

	e.Endpoint = v1alpha1.Endpoint{Address: "db.east.internal:5432"}
	objs, err = Imports("shop", e, "west", "us-west-2")
	if err != nil || len(objs) != 1 || objs[0].Object["spec"].(map[string]any)["externalName"] != "db.east.internal" {
		t.Fatalf("external name import %v %v", objs, err)
	}
	// Loopback addresses (the lab) cannot be endpoints; they become ExternalNames.
	e.Endpoint = v1alpha1.Endpoint{Address: "127.0.1.5:15432"}
	objs, err = Imports("shop", e, "west", "us-west-2")
	if err != nil || len(objs) != 1 || objs[0].Object["spec"].(map[string]any)["externalName"] != "127.0.1.5" ||
		objs[0].GetAnnotations()[AnnotationAddress] != "127.0.1.5:15432" {
		t.Fatalf("loopback import %v %v", objs, err)
	}
	e.Endpoint = v1alpha1.Endpoint{Address: "no-port"}
	if _, err := Imports("shop", e, "west", "us-west-2"); err == nil {
		t.Error("address without a port accepted")
	}
}

func TestPlan(t *testing.T) {
	e := Export{Service: "db", Namespace: "shop", Site: "east", Ports: []corev1.ServicePort{{Port: 5432}}, Endpoint: v1alpha1.Endpoint{Address: "10.0.1.5:5432"}}
	desired, _ := Imports("shop", e, "west", "r")
	stale := desired[0].DeepCopy()
	stale.SetAnnotations(map[string]string{objects.AnnotationApplication: "shop", objects.AnnotationImportedFrom: "east", objects.AnnotationContentHash: "old"})
	gone := stale.DeepCopy()
	gone.SetName("old-export")
	byHand := desired[1].DeepCopy()
	byHand.SetAnnotations(nil)
	got := map[string]objects.Action{}
	for _, c := range Plan("shop", "west", desired, []*unstructured.Unstructured{stale, gone, byHand}) {
		got[c.Ref.Kind+"/"+c.Ref.Name] = c.Action
	}
	want := map[string]objects.Action{"Service/db": objects.ActionUpdate, "EndpointSlice/db-hadron": objects.ActionConflict, "Service/old-export": objects.ActionDelete}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan %v, want %v", got, want)
	}
	if cs := Plan("shop", "west", desired, desired); cs[0].Action != objects.ActionInSync || cs[1].Action != objects.ActionInSync {
		t.Errorf("in-sync plan %v", cs)
	}
}
