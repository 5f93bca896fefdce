// Package fleet loads and validates fleet files: the Sites, Applications and MirrorSets
// that describe where an application runs and how it fails over.
package fleet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
)

// EnvFleet names the environment variable that gives the default fleet path.
const EnvFleet = "HADRON_FLEET"

// DefaultPath is the fleet path used when no -f flag is given.
func DefaultPath() string {
	if p := os.Getenv(EnvFleet); p != "" {
		return p
	}
	return "fleet.yaml"
}

// Fleet is every object read from a fleet file or directory.
type Fleet struct {
	Sites        []*v1alpha1.Site
	Applications []*v1alpha1.Application
	MirrorSets   []*v1alpha1.MirrorSet
	// Dir is the directory relative paths in the fleet are resolved against.
	Dir string
}

// Site returns the named site, or nil.
func (f *Fleet) Site(name string) *v1alpha1.Site {
	for _, s := range f.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Application returns the named application, or nil.
func (f *Fleet) Application(name string) *v1alpha1.Application {
	for _, a := range f.Applications {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// MirrorSet returns the named mirror set, or nil.
func (f *Fleet) MirrorSet(name string) *v1alpha1.MirrorSet {
	for _, m := range f.MirrorSets {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Load reads a fleet file or a directory of *.yaml/*.yml files and validates it.
func Load(path string) (*Fleet, error) {
	files, err := fleetFiles(path)
	if err != nil {
		return nil, err
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	f := &Fleet{Dir: dir}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read fleet: %w", err)
		}
		if err := f.add(name, b); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func fleetFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read fleet: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(path, pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("read fleet: no *.yaml files in %s", path)
	}
	return out, nil
}

// add decodes every YAML document of one file.
func (f *Fleet) add(file string, b []byte) error {
	for i, doc := range splitDocuments(b) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return fmt.Errorf("%s: document %d: %w", filepath.Base(file), i+1, err)
		}
		var target any
		switch head.Kind {
		case v1alpha1.KindSite:
			s := &v1alpha1.Site{}
			f.Sites, target = append(f.Sites, s), s
		case v1alpha1.KindApplication:
			a := &v1alpha1.Application{}
			f.Applications, target = append(f.Applications, a), a
		case v1alpha1.KindMirrorSet:
			m := &v1alpha1.MirrorSet{}
			f.MirrorSets, target = append(f.MirrorSets, m), m
		default:
			return fmt.Errorf("%s: document %d: kind: %q is not one of Site, Application, MirrorSet", filepath.Base(file), i+1, head.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, target); err != nil {
			return fmt.Errorf("%s: document %d: %w", filepath.Base(file), i+1, err)
		}
	}
	return nil
}

// splitDocuments splits a multi-document YAML stream, dropping empty documents.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if strings.TrimSpace(stripComments(cur.String())) != "" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(strings.TrimRight(line, " \t\r\n"), "---") && strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "---")) == "" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

