package replicate

import (
	"fmt"
	"log/slog"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/site"
)

// Kind is a kind to replicate as one site serves it.
type Kind struct {
	GVK schema.GroupVersionKind
	GVR schema.GroupVersionResource
}

// Kinds returns the group-kinds an application replicates: the built-in list plus the
// application's extra kinds. Extra kinds carry no version; the site's preferred one is
// used.
func Kinds(app *v1alpha1.Application) ([]schema.GroupVersionKind, error) {
	out := append([]schema.GroupVersionKind(nil), DefaultKinds...)
	seen := map[schema.GroupKind]bool{}
	for _, k := range out {
		seen[k.GroupKind()] = true
	}
	if r := app.Spec.Replication; r != nil {
		for i, s := range r.Kinds {
			gk, err := ParseGroupKind(s)
			if err != nil {
				return nil, fmt.Errorf("application %s: replication.kinds[%d]: %w", app.Name, i, err)
			}
			if !seen[gk] {
				seen[gk] = true
				out = append(out, gk.WithVersion(""))
			}
		}
	}
	return out, nil
}

// resolve maps kinds to the resources c serves. Kinds c does not serve (a CRD not
// installed, an API removed) are returned in missing; cluster-scoped kinds are left
// out, since an application lives in one namespace.
func resolve(c *site.Conn, kinds []schema.GroupVersionKind, log *slog.Logger) (served []Kind, missing []schema.GroupKind) {
	for _, k := range kinds {
		m, err := mapping(c, k)
		if err != nil {
			missing = append(missing, k.GroupKind())
			continue
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			log.Warn("cluster-scoped kind is not replicated", "kind", k.GroupKind().String(), "site", c.Name)
			continue
		}
		served = append(served, Kind{GVK: m.GroupVersionKind, GVR: m.Resource})
	}
	return served, missing
}

func mapping(c *site.Conn, k schema.GroupVersionKind) (*meta.RESTMapping, error) {
	var versions []string
	if k.Version != "" {
		versions = []string{k.Version}
	}
	m, err := c.Mapper.RESTMapping(k.GroupKind(), versions...)
	if err != nil {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(k.GroupKind(), versions...)
	}
	if err != nil {
		return nil, fmt.Errorf("site %s: %w: %s: %w", c.Name, ErrUnknownKind, k.GroupKind(), err)
	}
	return m, nil
}
