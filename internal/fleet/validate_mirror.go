package fleet

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"hadron.dev/hadron/api/v1alpha1"
)

// data checks spec.data and the RPO promise that depends on it.
func (c *checker) data(d doc, a *v1alpha1.Application, appSites []string) {
	p := a.Spec.Policy
	var set *v1alpha1.MirrorSet
	if a.Spec.Data != nil {
		name := a.Spec.Data.MirrorSet
		if d.required("spec.data.mirrorSet", name) {
			if set = c.sets[name]; set == nil {
				d.bad("spec.data.mirrorSet", "mirror set %q is not defined%s", name, didYouMean(name, c.setNames))
			}
		}
	}
	if set != nil && p.Mode == v1alpha1.ModeActivePassive && len(appSites) > 0 && appSites[0] == p.ActiveSite {
		if prim := primaries(set); len(prim) == 1 && prim[0].Site != "" && c.sites[prim[0].Site] != nil && prim[0].Site != p.ActiveSite {
			d.bad("spec.data.mirrorSet", "mirror set %q has its primary at site %q but the application is active at %q", set.Name, prim[0].Site, p.ActiveSite)
		}
	}
	c.dataLoss(d, a, set)
	if p.RPO == nil {
		return
	}
	if a.Spec.Data == nil {
		d.bad("spec.policy.rpo", "an RPO promise needs data to keep: set spec.data.mirrorSet")
		return
	}
	if set == nil || p.RPO.Duration != 0 {
		return
	}
	switch {
	case set.Spec.Replication != nil && set.Spec.Replication.Synchronous != nil && !*set.Spec.Replication.Synchronous:
		d.bad("spec.policy.rpo", "RPO 0 needs synchronous replication, but mirror set %q sets spec.replication.synchronous: false", set.Name)
	case !hasRole(set, v1alpha1.RoleFailover):
		d.bad("spec.policy.rpo", "RPO 0 needs a synchronous failover member, but mirror set %q has none", set.Name)
	}
}

// MinBound is the smallest bound of mode bounded: the resolution at which the primary's
// bound keeper follows the DR member's confirmed position.
const MinBound = 10 * time.Millisecond

// dataLoss checks spec.policy.dataLoss: its own fields, then what the mirror set must
// have to keep the promise, then that every application of the set says the same.
func (c *checker) dataLoss(d doc, a *v1alpha1.Application, set *v1alpha1.MirrorSet) {
	dl := a.Spec.Policy.DataLoss
	if dl == nil {
		c.sameLoss(d, a, set)
		return
	}
	const path = "spec.policy.dataLoss"
	if a.Spec.Data == nil {
		d.bad(path, "a data-loss mode needs data to keep: set spec.data.mirrorSet")
		return
	}
	if !d.required(path+".mode", string(dl.Mode)) {
		return
	}
	oneOf(d, path+".mode", dl.Mode, v1alpha1.DataLossAsync, v1alpha1.DataLossBounded, v1alpha1.DataLossSynchronous)
	switch {
	case dl.Mode != v1alpha1.DataLossBounded && dl.Bound != nil:
		d.bad(path+".bound", "only with mode bounded (mode is %s)", dl.Mode)
	case dl.Mode != v1alpha1.DataLossBounded:
	case dl.Bound == nil:
		d.bad(path+".bound", "required with mode bounded: the most writes, in time, a lost region may take with it (for example 200ms)")
	case dl.Bound.Duration <= 0:
		d.bad(path+".bound", "%s is not positive: the most writes, in time, a lost region may take with it (for example 200ms)", dl.Bound.Duration)
	case dl.Bound.Duration < MinBound:
		d.bad(path+".bound", "%s is below %s, the resolution at which the primary follows the DR member; use mode synchronous to lose nothing", dl.Bound.Duration, MinBound)
	case a.Spec.Policy.RPO != nil && a.Spec.Policy.RPO.Duration > 0 && dl.Bound.Duration > a.Spec.Policy.RPO.Duration:
		d.bad(path+".bound", "%s is more than spec.policy.rpo %s: a lost region could take more than the RPO promises", dl.Bound.Duration, a.Spec.Policy.RPO.Duration)
	}
	if set == nil {
		return
	}
	local, remote, known := c.regionCounts(set)
	if !known {
		return // the primary's site is reported where it is defined
	}
	if (dl.Mode == v1alpha1.DataLossBounded || dl.Mode == v1alpha1.DataLossSynchronous) && remote == 0 {
		d.bad(path+".mode", "mode %s keeps a promise about the DR member, but mirror set %q has no member outside the primary's region", dl.Mode, set.Name)
	}
	if (dl.Mode == v1alpha1.DataLossBounded || dl.Mode == v1alpha1.DataLossSynchronous) && set.Spec.Backup != nil && set.Spec.Backup.RestoreWhenNoMember {
		// A restore from the archive loses the archive lag (up to the archive
		// interval): an automatic one would break what the mode promises.
		d.bad(path+".mode", "mode %s promises more than a restore from the archive keeps, but mirror set %q sets spec.backup.restoreWhenNoMember (use mode async, or restore by hand)", dl.Mode, set.Name)
	}
	if dl.Mode == v1alpha1.DataLossSynchronous {
		switch {
		case local == 0:
			d.bad(path+".mode", "mode synchronous needs a failover member in the primary's region (a commit waits for it and for the DR member), but mirror set %q has none", set.Name)
		case set.Spec.Replication != nil && set.Spec.Replication.Synchronous != nil && !*set.Spec.Replication.Synchronous:
			d.bad(path+".mode", "mode synchronous makes the failover member synchronous, but mirror set %q sets spec.replication.synchronous: false", set.Name)
		}
	}
	c.sameLoss(d, a, set)
}

// regionCounts counts set's members besides the primary in the primary's region
// and outside it, by their sites' regions (what the driver goes by, whatever the role
// says); known is false when the primary's region or a member's site is not known.
func (c *checker) regionCounts(set *v1alpha1.MirrorSet) (local, remote int, known bool) {
	prim := primaries(set)
	if len(prim) != 1 || c.sites[prim[0].Site] == nil {
		return 0, 0, false
	}
	region := c.sites[prim[0].Site].Spec.Region
	for _, m := range set.Spec.Members {
		s := c.sites[m.Site]
		if s == nil {
			// Its site is reported where the member is defined; counting without it
			// would add a second, misleading problem.
			return 0, 0, false
		}
		switch {
		case m.Role == v1alpha1.RolePrimary || s.Spec.Role == v1alpha1.SiteRoleWitness:
		case s.Spec.Region == region:
			local++
		default:
			remote++
		}
	}
	return local, remote, true
}

// sameLoss checks that a says what the first application of set said.
func (c *checker) sameLoss(d doc, a *v1alpha1.Application, set *v1alpha1.MirrorSet) {
	if set == nil {
		return
	}
	mine := lossOf{app: a.Name, loss: a.Spec.Policy.DataLoss.String()}
	if first, ok := c.setLoss[set.Name]; !ok {
		c.setLoss[set.Name] = mine
	} else if first.loss != mine.loss {
		d.bad("spec.policy.dataLoss", "%s, but application %q says %s for the same mirror set %q: its primary keeps one promise", mine.loss, first.app, first.loss, set.Name)
	}
}

func primaries(m *v1alpha1.MirrorSet) []v1alpha1.Member {
	var out []v1alpha1.Member
	for _, mb := range m.Spec.Members {
		if mb.Role == v1alpha1.RolePrimary {
			out = append(out, mb)
		}
	}
	return out
}

func hasRole(m *v1alpha1.MirrorSet, r v1alpha1.MemberRole) bool {
	for _, mb := range m.Spec.Members {
		if mb.Role == r {
			return true
		}
	}
	return false
}

func (c *checker) mirrorSet(m *v1alpha1.MirrorSet) {
	d := c.doc(m, v1alpha1.KindMirrorSet, m.Name)
	spec := m.Spec
	if d.required("spec.engine", string(spec.Engine)) {
		oneOf(d, "spec.engine", spec.Engine, v1alpha1.EnginePostgres)
	}
	if len(spec.Members) == 0 {
		d.bad("spec.members", "required: a primary and at least one other member")
		return
	}
	primaryAt := -1
	names := map[string]int{}
	for i, mb := range spec.Members {
		path := fmt.Sprintf("spec.members[%d]", i)
		if d.required(path+".name", mb.Name) {
			if msgs := validation.IsDNS1123Label(mb.Name); len(msgs) > 0 {
				d.bad(path+".name", "%q is not a valid member name: %s", mb.Name, msgs[0])
			} else if j, dup := names[mb.Name]; dup {
				d.bad(path+".name", "member %q is already spec.members[%d]", mb.Name, j)
			} else {
				names[mb.Name] = i
			}
		}
		site := d.workloadSiteRef(path+".site", mb.Site)
		if site != nil && mb.Zone != "" {
			zoneOf(d, path+".zone", mb.Zone, site)
		}
		if d.required(path+".role", string(mb.Role)) {
			oneOf(d, path+".role", mb.Role, v1alpha1.RolePrimary, v1alpha1.RoleFailover, v1alpha1.RoleDRAsync)
		}
		if mb.Role == v1alpha1.RolePrimary {
			if primaryAt >= 0 {
				d.bad(path+".role", "spec.members[%d] is already the primary: exactly one member must be primary", primaryAt)
			} else {
				primaryAt = i
			}
		}
		d.endpoint(path+".address", mb.Address)
		if mb.Pod != nil {
			// The driver asks the pod for what needs the member's files; a dataDir
			// would make it do them itself, on a directory the pod owns.
			if mb.DataDir != "" {
				d.bad(path+".pod", "member %q runs in a pod, so it has no dataDir (its data is on the pod's volume)", mb.Name)
			}
			d.required(path+".pod.namespace", mb.Pod.Namespace)
		}
	}
	if primaryAt < 0 {
		d.bad("spec.members", "no member has role primary: exactly one must")
	} else if ps := c.sites[spec.Members[primaryAt].Site]; ps != nil {
		c.memberRegions(d, m, ps.Spec.Region)
	}
	c.credentials(d, spec.Credentials)
	c.tls(d, m)
	c.backup(d, m)
	if r := spec.Replication; r != nil && r.MaxLagOnFailover != nil && *r.MaxLagOnFailover < 0 {
		d.bad("spec.replication.maxLagOnFailover", "must not be negative")
	}
}

func zoneOf(d doc, path, zone string, site *v1alpha1.Site) {
	if len(site.Spec.Zones) == 0 {
		d.bad(path, "zone %q: site %q declares no zones (spec.zones)", zone, site.Name)
		return
	}
	for _, z := range site.Spec.Zones {
		if z == zone {
			return
		}
	}
	d.bad(path, "zone %q is not one of site %q's zones%s%s", zone, site.Name, listed(site.Spec.Zones), didYouMean(zone, site.Spec.Zones))
}

// memberRegions checks seed 000's shape: failover members next to the primary, DR
// members away from it.
func (c *checker) memberRegions(d doc, m *v1alpha1.MirrorSet, primaryRegion string) {
	for i, mb := range m.Spec.Members {
		s := c.sites[mb.Site]
		if s == nil || s.Spec.Role == v1alpha1.SiteRoleWitness {
			continue
		}
		path := fmt.Sprintf("spec.members[%d].site", i)
		switch r := s.Spec.Region; {
		case mb.Role == v1alpha1.RoleFailover && r != primaryRegion:
			d.bad(path, "a failover member must be in the primary's region %s, but site %q is in %s (use role dr-async across regions)", primaryRegion, mb.Site, r)
		case mb.Role == v1alpha1.RoleDRAsync && r == primaryRegion:
			d.bad(path, "a dr-async member must be outside the primary's region %s, but site %q is in it (use role failover in-region)", primaryRegion, mb.Site)
		}
	}
}

func (c *checker) credentials(d doc, cr *v1alpha1.Credentials) {
	if cr == nil {
		return
	}
	d.required("spec.credentials.user", cr.User)
	if cr.ReplicationUser != "" && cr.ReplicationUser == cr.User {
		d.bad("spec.credentials.replicationUser", "%q is also spec.credentials.user: replication runs as its own role with only REPLICATION and pg_rewind's grants, never as the superuser (leave it out for %q)", cr.ReplicationUser, v1alpha1.DefaultReplicationUser)
	}
	if pf := cr.PasswordFrom; pf != nil {
		c.source(d, "spec.credentials.passwordFrom", pf)
	}
}

// source checks a SecretRef: exactly one of file, env, secret, and a sound secret.
func (c *checker) source(d doc, p string, ref *v1alpha1.SecretRef) {
	set := 0
	for _, ok := range []bool{ref.File != "", ref.Env != "", ref.Secret != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		d.bad(p, "set exactly one of file, env, secret (found %d)", set)
	}
	if s := ref.Secret; s != nil {
		c.secretRef(d, p+".secret", s)
	}
}

// secretRef checks a reference to a key of a Kubernetes Secret: a site whose cluster
// hadron reaches (a workload site with a kube context), and names Kubernetes accepts.
func (c *checker) secretRef(d doc, p string, s *v1alpha1.KubeSecretKeyRef) {
	if site := d.siteRef(p+".site", s.Site); site != nil {
		switch {
		case site.Spec.Role == v1alpha1.SiteRoleWitness:
			d.bad(p+".site", "site %q is a witness: it has no Kubernetes cluster to keep the Secret in", s.Site)
		case site.Spec.KubeContext == "":
			d.bad(p+".site", "site %q has no spec.kubeContext: hadron reaches no cluster there to read the Secret from", s.Site)
		}
	}
	if d.required(p+".namespace", s.Namespace) {
		if msgs := validation.IsDNS1123Label(s.Namespace); len(msgs) > 0 {
			d.bad(p+".namespace", "%q is not a valid namespace: %s", s.Namespace, msgs[0])
		}
	}
	if d.required(p+".name", s.Name) {
		if msgs := validation.IsDNS1123Subdomain(s.Name); len(msgs) > 0 {
			d.bad(p+".name", "%q is not a valid Secret name: %s", s.Name, msgs[0])
		}
	}
	if d.required(p+".key", s.Key) {
		if msgs := validation.IsConfigMapKey(s.Key); len(msgs) > 0 {
			d.bad(p+".key", "%q is not a valid Secret key: %s", s.Key, msgs[0])
		}
	}
}
