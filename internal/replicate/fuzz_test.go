package replicate

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/api/v1alpha1"
)

// FuzzTransform feeds arbitrary objects (outside input: anything a user can create on
// the active site) through the transforms and the planner: no panic, the input is not
// modified, and an applied result keeps its kind, namespace and name.
func FuzzTransform(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"n"},"spec":{"clusterIP":"1.2.3.4","ports":[{"nodePort":3}, 7, null]}}`,
		`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a","annotations":{"external-dns.alpha.kubernetes.io/hostname":",,shop.example.com,"}},"spec":{"rules":[{"host":"shop.example.com"},1,{"host":2}],"tls":[{"hosts":["east.shop.example.com",3]},"x"]}}`,
		`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","ownerReferences":[{"kind":"CronJob","name":"c","controller":false}]},"spec":{"template":{"metadata":{"labels":{"controller-uid":"u"}}}}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"hadron.dev/active-replicas":"x"}},"spec":{"replicas":"three"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"broken"},"data":{"a":"b"}}`,
	} {
		f.Add([]byte(seed))
	}
	rules, err := CompileRules(&v1alpha1.ObjectReplication{Rules: []v1alpha1.ReplicationRule{
		{Name: "broken", JSONPatch: []v1alpha1.JSONPatchOperation{{Op: "replace", Path: "/data/missing", Value: json.RawMessage(`1`)}}},
		{Kinds: []string{"Deployment.apps"}, MergePatch: json.RawMessage(`{"spec":{"paused":true}}`)},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil || m == nil {
			return
		}
		src := &unstructured.Unstructured{Object: normalizeNumbers(m).(map[string]any)}
		before := src.DeepCopy()
		for _, style := range []v1alpha1.StandbyStyle{v1alpha1.StandbyWarm, v1alpha1.StandbyPilotLight, v1alpha1.StandbyCold} {
			d := Transform(src, target(style, rules...))
			if !reflect.DeepEqual(src, before) {
				t.Fatal("input modified")
			}
			if d.Object != nil {
				if d.Object.GetName() != src.GetName() || d.Object.GetNamespace() != src.GetNamespace() || d.Object.GetKind() != src.GetKind() {
					t.Fatalf("identity changed: %v", d.Object)
				}
				Plan("shop", "west", []Desired{d}, []*unstructured.Unstructured{src})
			}
		}
	})
}
