// Package manifests converts between a fleet and the Kubernetes manifests of its
// custom resources (hadron fleet export and import).
//
// A fleet file already holds Kubernetes-shaped objects, so the conversion is mostly a
// normalisation: each object is written with its apiVersion, kind, name, labels,
// annotations and spec as its document said them — no defaults filled in, no status,
// none of the fields the API server adds (uid, resourceVersion, managedFields) — so
// that a fleet exported, applied, read back and imported is the fleet that was written.
package manifests

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

// object is one document as written: what the author controls, nothing the API server
// or hadron's status adds.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       any    `json:"spec"`
}

type meta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func objectOf(kind string, m metav1Meta, spec any) object {
	return object{
		APIVersion: v1alpha1.GroupVersion,
		Kind:       kind,
		Metadata:   meta{Name: m.GetName(), Labels: m.GetLabels(), Annotations: withoutServerAnnotations(m.GetAnnotations())},
		Spec:       spec,
	}
}

// metav1Meta is the part of metav1.Object the documents keep.
type metav1Meta interface {
	GetName() string
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}

// lastApplied is the annotation `kubectl apply` writes: a copy of the whole object,
// which would grow with every round trip if it were kept.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func withoutServerAnnotations(a map[string]string) map[string]string {
	if _, ok := a[lastApplied]; !ok {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		if k != lastApplied {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Objects are f's objects as documents, sites first, then DNS providers, mirror sets
// and applications — the order in which each refers only to those before it.
func objects(f *fleet.Fleet) []object {
	var out []object
	for _, s := range f.Sites {
		out = append(out, objectOf(v1alpha1.KindSite, s, s.Spec))
	}
	for _, p := range f.DNSProviders {
		out = append(out, objectOf(v1alpha1.KindDNSProvider, p, p.Spec))
	}
	for _, m := range f.MirrorSets {
		out = append(out, objectOf(v1alpha1.KindMirrorSet, m, m.Spec))
	}
	for _, a := range f.Applications {
		out = append(out, objectOf(v1alpha1.KindApplication, a, a.Spec))
	}
	return out
}

// Write returns f as a multi-document YAML stream, one document per object; the same
// text is a fleet file and a set of manifests for kubectl apply.
func Write(f *fleet.Fleet) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objects(f) {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("writing %s %q: %w", o.Kind, o.Metadata.Name, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// Read decodes and validates documents with the fleet's own rules, leaving defaults
// out; a problem is reported as *fleet.Errors naming the file, object and field path.
func Read(srcs ...fleet.Source) (*fleet.Fleet, error) {
	f, err := fleet.Check(srcs...)
	if err != nil {
		return nil, err
	}
	return f, nil
}
