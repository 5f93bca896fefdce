package fleet

import (
	"fmt"

	"hadron.dev/hadron/api/v1alpha1"
)

// tls checks spec.tls: a known mode; a CA wherever clients must verify; certificates
// only for members of the set, at most one each; and a certificate for every member
// hadron runs (a dataDir) unless TLS is off, since its pg_hba refuses clear
// connections and nobody could reach a member started without one.
func (c *checker) tls(d doc, m *v1alpha1.MirrorSet) {
	t := m.Spec.TLS
	if t == nil {
		return
	}
	oneOf(d, "spec.tls.mode", t.Mode, v1alpha1.TLSVerifyFull, v1alpha1.TLSVerifyCA, v1alpha1.TLSRequire, v1alpha1.TLSDisable)
	mode := t.EffectiveMode()
	if t.CA != nil {
		c.source(d, "spec.tls.ca", t.CA)
	} else if mode == v1alpha1.TLSVerifyFull || mode == v1alpha1.TLSVerifyCA {
		d.bad("spec.tls.ca", "required for mode %s: clients verify the members' certificates against it", mode)
	}
	members := map[string]bool{}
	for _, mb := range m.Spec.Members {
		members[mb.Name] = true
	}
	seen := map[string]int{}
	for i, mc := range t.Members {
		p := fmt.Sprintf("spec.tls.members[%d]", i)
		if d.required(p+".member", mc.Member) {
			if !members[mc.Member] {
				d.bad(p+".member", "member %q is not in spec.members%s", mc.Member, didYouMean(mc.Member, memberNames(m)))
			} else if j, dup := seen[mc.Member]; dup {
				d.bad(p+".member", "member %q already has its certificate at spec.tls.members[%d]", mc.Member, j)
			} else {
				seen[mc.Member] = i
			}
		}
		if mc.Cert == nil {
			d.bad(p+".cert", "required")
		} else {
			c.source(d, p+".cert", mc.Cert)
		}
		if mc.Key == nil {
			d.bad(p+".key", "required")
		} else {
			c.source(d, p+".key", mc.Key)
		}
	}
	if mode == v1alpha1.TLSDisable {
		return
	}
	for i, mb := range m.Spec.Members {
		if _, ok := seen[mb.Name]; !ok && mb.DataDir != "" && mb.Name != "" {
			d.bad(fmt.Sprintf("spec.members[%d].dataDir", i), "hadron runs member %q with TLS (mode %s), so spec.tls.members needs its certificate", mb.Name, mode)
		}
	}
}

func memberNames(m *v1alpha1.MirrorSet) []string {
	var out []string
	for _, mb := range m.Spec.Members {
		out = append(out, mb.Name)
	}
	return out
}
