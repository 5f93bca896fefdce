package replicate

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rewriteForSite fixes seed 001's traps: an Ingress copied as-is claims the source
// site's names, and an external-dns annotation copied as-is makes two clusters fight
// over one DNS record. The main name stays on every Ingress (clients use it; the
// certificate covers it); the source site's name becomes the target's; external-dns
// only ever publishes the target site's own name, since the main name is hadron's.
func rewriteForSite(o *unstructured.Unstructured, t Target) {
	if ann := o.GetAnnotations(); ann[ExternalDNSHostname] != "" {
		if v := rewriteExternalDNS(ann[ExternalDNSHostname], t); v == "" {
			delete(ann, ExternalDNSHostname)
		} else {
			ann[ExternalDNSHostname] = v
		}
		setOrDropAnnotations(o, ann)
	}
	if isKind(o, "networking.k8s.io", "Ingress") && t.SiteName != "" {
		rewriteIngress(o, t)
	}
}

// rewriteExternalDNS maps the main and source names to the target site's name and
// keeps other names; duplicates are removed, order kept.
func rewriteExternalDNS(v string, t Target) string {
	var out []string
	seen := map[string]bool{}
	for _, h := range strings.Split(v, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if sameHost(h, t.MainName) || sameHost(h, t.SourceName) {
			h = t.SiteName
		}
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return strings.Join(out, ",")
}

func sameHost(a, b string) bool {
	return b != "" && strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// rewriteIngress renames the source site's host to the target's, and adds a rule (and
// TLS host) for the target's name next to the rule for the main name. A rule whose
// host is already there (an Ingress that lists every site's name) is dropped, so no
// host appears twice.
func rewriteIngress(o *unstructured.Unstructured, t Target) {
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	var out []any
	hosts := map[string]bool{}
	keep := func(r any) {
		if m, ok := r.(map[string]any); ok {
			h := strings.ToLower(strings.TrimSuffix(hostOf(m), "."))
			if h != "" && hosts[h] {
				return
			}
			hosts[h] = true
		}
		out = append(out, r)
	}
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok && sameHost(hostOf(m), t.SourceName) {
			m["host"] = t.SiteName
		}
	}
	siteListed := false
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok && sameHost(hostOf(m), t.SiteName) {
			siteListed = true
		}
	}
	for _, r := range rules {
		keep(r)
		m, ok := r.(map[string]any)
		if !ok || siteListed || !sameHost(hostOf(m), t.MainName) {
			continue
		}
		c := deepCopyMap(m)
		c["host"] = t.SiteName
		keep(c)
		siteListed = true
	}
	if rules != nil {
		_ = unstructured.SetNestedSlice(o.Object, out, "spec", "rules")
	}

	tls, _, _ := unstructured.NestedSlice(o.Object, "spec", "tls")
	for _, e := range tls {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		list, _ := m["hosts"].([]any)
		var hs []any
		seen := map[string]bool{}
		hasMain := false
		for _, h := range list {
			s, _ := h.(string)
			if sameHost(s, t.SourceName) {
				s = t.SiteName
			}
			hasMain = hasMain || sameHost(s, t.MainName)
			if k := strings.ToLower(s); !seen[k] {
				seen[k] = true
				hs = append(hs, s)
			}
		}
		if hasMain && !seen[strings.ToLower(t.SiteName)] {
			hs = append(hs, t.SiteName)
		}
		if list != nil {
			m["hosts"] = hs
		}
	}
	if tls != nil {
		_ = unstructured.SetNestedSlice(o.Object, tls, "spec", "tls")
	}
}

func hostOf(m map[string]any) string {
	h, _ := m["host"].(string)
	return h
}

func deepCopyMap(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
