// Package fleet loads and validates fleet files: the Sites, Applications and MirrorSets
// that describe where an application runs and how it fails over.
package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

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
	DNSProviders []*v1alpha1.DNSProvider
	// Dir is the directory relative paths in the fleet are resolved against.
	Dir string

	// origins says which file and document each object came from, for messages.
	origins map[any]origin
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

// DataLoss is the data-loss mode of mirror set set: the one its applications' policies
// name (validation makes them agree), async when none names one or none uses the set.
func (f *Fleet) DataLoss(set string) v1alpha1.DataLoss {
	for _, a := range f.Applications {
		if a.Spec.Data != nil && a.Spec.Data.MirrorSet == set && a.Spec.Policy.DataLoss != nil {
			return *a.Spec.Policy.DataLoss
		}
	}
	return v1alpha1.DataLoss{Mode: v1alpha1.DataLossAsync}
}

// DNSProvider returns the named DNS provider, or nil.
func (f *Fleet) DNSProvider(name string) *v1alpha1.DNSProvider {
	for _, p := range f.DNSProviders {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Load reads a fleet file, or every *.yaml and *.yml file of a directory, validates
// it and applies the defaults. A fleet with problems returns *Errors listing all of
// them; a path that cannot be read returns a wrapped I/O error.
func Load(path string) (*Fleet, error) {
	srcs, err := ReadSources(path)
	if err != nil {
		return nil, err
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	f, err := Parse(srcs...)
	if f != nil {
		f.Dir = dir
	}
	return f, err
}

// ReadSources reads a fleet file, or every *.yaml and *.yml file of a directory, for
// Parse or Check.
func ReadSources(path string) ([]Source, error) {
	files, err := fleetFiles(path)
	if err != nil {
		return nil, err
	}
	srcs := make([]Source, 0, len(files))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read fleet: %w", err)
		}
		srcs = append(srcs, Source{Name: name, Data: b})
	}
	return srcs, nil
}

// Parse decodes, validates and defaults a fleet given as file contents; Name is what
// messages call each file. On problems it returns the fleet as far as it was read
// (without defaults) and *Errors.
func Parse(srcs ...Source) (*Fleet, error) {
	f, err := Check(srcs...)
	if err != nil {
		return f, err
	}
	ApplyDefaults(f)
	return f, nil
}

// Check decodes and validates a fleet as Parse does but leaves the defaults out: the
// objects say what their documents say, which is what a conversion (hadron fleet
// export and import) must keep.
func Check(srcs ...Source) (*Fleet, error) {
	f := &Fleet{}
	var structural Errors
	for _, src := range srcs {
		f.decode(src, &structural)
	}
	c := newChecker(f, structural.List)
	c.run()
	c.errs.List = append(structural.List, c.errs.List...)
	return f, c.result()
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
			return nil, fmt.Errorf("read fleet: %w", err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("read fleet %s: %w", path, ErrNoFiles)
	}
	return out, nil
}
