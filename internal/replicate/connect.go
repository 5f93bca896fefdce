package replicate

import (
	"errors"
	"fmt"
	"sort"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
)

// ErrNoApplication is a CLI call naming no application (or an unknown one) in a
// fleet that has none or several.
var ErrNoApplication = errors.New("no such application")

// Sites is an application with connections to its active and stand-by sites.
type Sites struct {
	App      *v1alpha1.Application
	Active   *site.Conn
	Standbys []*site.Conn
	// All maps site names to their fleet objects and connections (active first).
	Fleet *fleet.Fleet
}

// Conns returns every connection by site name.
func (s *Sites) Conns() map[string]*site.Conn {
	m := map[string]*site.Conn{s.Active.Name: s.Active}
	for _, c := range s.Standbys {
		m[c.Name] = c
	}
	return m
}

// PickApplication returns the named application, or the only one when name is empty.
func PickApplication(f *fleet.Fleet, name string) (*v1alpha1.Application, error) {
	if name != "" {
		if a := f.Application(name); a != nil {
			return a, nil
		}
	} else if len(f.Applications) == 1 {
		return f.Applications[0], nil
	}
	var names []string
	for _, a := range f.Applications {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("%w %q (the fleet has %v)", ErrNoApplication, name, names)
}

// ConnectApp opens connections to an application's active and stand-by sites.
func ConnectApp(f *fleet.Fleet, app *v1alpha1.Application) (*Sites, error) {
	p := app.Spec.Policy
	conn := func(name string) (*site.Conn, error) {
		s := f.Site(name)
		if s == nil {
			return nil, fmt.Errorf("application %s: site %s is not in the fleet", app.Name, name)
		}
		return site.Connect(s, f.Dir)
	}
	active, err := conn(p.ActiveSite)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoActive, err)
	}
	out := &Sites{App: app, Active: active, Fleet: f}
	for _, n := range p.StandbySites {
		c, err := conn(n)
		if err != nil {
			return nil, err
		}
		out.Standbys = append(out.Standbys, c)
	}
	return out, nil
}
