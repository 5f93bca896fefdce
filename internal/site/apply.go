package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ReadManifests reads every object of a YAML file or of the *.yaml files of a
// directory, in name order, namespaces first so that applying in order works.
func ReadManifests(path string) ([]*unstructured.Unstructured, error) {
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	} else if st.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for i := 1; ; i++ {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: document %d: %w", f, i, err)
			}
			if len(obj) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			if u.GetKind() == "" || u.GetAPIVersion() == "" {
				return nil, fmt.Errorf("%s: document %d: apiVersion and kind are required", f, i)
			}
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("manifests: no objects in %s", path)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return rank(out[i].GetKind()) < rank(out[j].GetKind())
	})
	return out, nil
}

// rank orders kinds so that what others depend on is applied first.
func rank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "ServiceAccount", "ConfigMap", "Secret":
		return 2
	default:
		return 3
	}
}

// ApplyResult says what happened to one object.
type ApplyResult struct {
	Kind, Namespace, Name string
	Err                   error
}

func (r ApplyResult) String() string {
	ref := strings.ToLower(r.Kind) + "/" + r.Name
	if r.Namespace != "" {
		ref = r.Namespace + "/" + ref
	}
	if r.Err != nil {
		return ref + ": " + r.Err.Error()
	}
	return ref + " applied"
}

// Apply writes each object with server-side apply (field manager hadron, forcing
// conflicts owned by hadron's own earlier writes). An object that fails does not stop
// the others; the error joins every failure.
func (c *Conn) Apply(ctx context.Context, objs []*unstructured.Unstructured) ([]ApplyResult, error) {
	var results []ApplyResult
	var errs []error
	for _, o := range objs {
		r := ApplyResult{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		r.Err = c.applyOne(ctx, o)
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("site %s: %s", c.Name, r))
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

func (c *Conn) applyOne(ctx context.Context, o *unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		c.Mapper.Reset()
		if m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return fmt.Errorf("kind %s: %w", gvk, err)
		}
	}
	body, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		_, err = c.Dynamic.Resource(m.Resource).Namespace(ns).Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
	} else {
		_, err = c.Dynamic.Resource(m.Resource).Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
	}
	return err
}
