package replicate

import (
	"errors"
	"fmt"
	"sort"

	"hadron.dev/hadron/api/v1alpha1"
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
	// Sites are the fleet's sites (for regions and load balancers).
	Sites []*v1alpha1.Site
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
func PickApplication(apps []*v1alpha1.Application, name string) (*v1alpha1.Application, error) {
	for _, a := range apps {
		if name != "" && a.Name == name {
			return a, nil
		}
	}
	if name == "" && len(apps) == 1 {
		return apps[0], nil
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("%w %q (the fleet has %v)", ErrNoApplication, name, names)
}

// ConnectApp opens connections to an application's active and stand-by sites; dir
// is the fleet's directory (kubeconfig paths are relative to it).
func ConnectApp(sites []*v1alpha1.Site, dir string, app *v1alpha1.Application) (*Sites, error) {
	p := app.Spec.Policy
	conn := func(name string) (*site.Conn, error) {
		for _, s := range sites {
			if s.Name == name {
				return site.Connect(s, dir)
			}
		}
		return nil, fmt.Errorf("application %s: site %s is not in the fleet", app.Name, name)
	}
	active, err := conn(p.ActiveSite)
	if err != nil {
		return nil, fmt.Errorf("application %s: active site: %w", app.Name, err)
	}
	out := &Sites{App: app, Active: active, Sites: sites}
	for _, n := range p.StandbySites {
		c, err := conn(n)
		if err != nil {
			return nil, err
		}
		out.Standbys = append(out.Standbys, c)
	}
	return out, nil
}
