package fleet

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"hadron.dev/hadron/api/v1alpha1"
)

// Validate checks f and returns *Errors with every problem, or nil. Load calls it;
// call it directly on a fleet built in code.
func (f *Fleet) Validate() error {
	c := newChecker(f, nil)
	c.run()
	return c.result()
}

// checker holds the indexes every rule needs and collects the problems.
type checker struct {
	f    *Fleet
	errs Errors
	// structural are the problems decoding found; semantic problems at or under one
	// of their paths are not reported again (a value that was dropped is not also
	// "required").
	structural []FieldError

	sites      map[string]*v1alpha1.Site
	siteNames  []string
	regions    map[string]bool
	regionList []string
	sets       map[string]*v1alpha1.MirrorSet
	setNames   []string
	// setLoss is the first application's data-loss mode of each mirror set, by set
	// name: every other application of the set must say the same.
	setLoss map[string]lossOf
}

// lossOf is an application's data-loss mode.
type lossOf struct {
	app  string
	loss string
}

func newChecker(f *Fleet, structural []FieldError) *checker {
	c := &checker{f: f, structural: structural, sites: map[string]*v1alpha1.Site{}, regions: map[string]bool{}, sets: map[string]*v1alpha1.MirrorSet{}, setLoss: map[string]lossOf{}}
	for _, s := range f.Sites {
		if _, dup := c.sites[s.Name]; !dup && s.Name != "" {
			c.sites[s.Name] = s
			c.siteNames = append(c.siteNames, s.Name)
		}
		if r := s.Spec.Region; r != "" && !c.regions[r] {
			c.regions[r] = true
			c.regionList = append(c.regionList, r)
		}
	}
	for _, m := range f.MirrorSets {
		if _, dup := c.sets[m.Name]; !dup && m.Name != "" {
			c.sets[m.Name] = m
			c.setNames = append(c.setNames, m.Name)
		}
	}
	sort.Strings(c.siteNames)
	sort.Strings(c.regionList)
	sort.Strings(c.setNames)
	return c
}

func (c *checker) run() {
	c.duplicates()
	for _, s := range c.f.Sites {
		c.site(s)
	}
	for _, a := range c.f.Applications {
		c.application(a)
	}
	for _, m := range c.f.MirrorSets {
		c.mirrorSet(m)
	}
	for _, p := range c.f.DNSProviders {
		c.dnsProvider(p)
	}
}

func (c *checker) result() error {
	if len(c.errs.List) == 0 {
		return nil
	}
	c.errs.Sort()
	return &c.errs
}

// doc is the object a rule is looking at, so that rules can report by field path.
type doc struct {
	c          *checker
	obj        any
	kind, name string
}

func (c *checker) doc(obj any, kind, name string) doc {
	return doc{c: c, obj: obj, kind: kind, name: name}
}

// bad records a problem at path.
func (d doc) bad(path, format string, args ...any) {
	o := d.c.f.origins[d.obj]
	e := FieldError{File: o.file, Doc: o.doc, Kind: d.kind, Name: d.name, Path: path, Reason: fmt.Sprintf(format, args...)}
	for _, s := range d.c.structural {
		if s.File == e.File && s.Doc == e.Doc && coveredBy(path, s.Path) {
			return
		}
	}
	e.Line = lineOf(o.lines, path)
	d.c.errs.List = append(d.c.errs.List, e)
}

// coveredBy says whether path is at or under parent.
func coveredBy(path, parent string) bool {
	if parent == "" || path == parent {
		return parent == path
	}
	return strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
}

// lineOf finds the line of path, or of its nearest ancestor that was written.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func (d doc) required(path, value string) bool {
	if value == "" {
		d.bad(path, "required")
		return false
	}
	return true
}

// oneOf checks an enum; an empty value is left to the caller (required or defaulted).
func oneOf[T ~string](d doc, path string, v T, allowed ...T) {
	if v == "" {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if v == a {
			return
		}
		names[i] = string(a)
	}
	d.bad(path, "%q is not one of %s%s", v, strings.Join(names, ", "), didYouMean(string(v), names))
}

// siteRef checks a reference to a site and returns it when it exists.
func (d doc) siteRef(path, name string) *v1alpha1.Site {
	if name == "" {
		d.bad(path, "required")
		return nil
	}
	s := d.c.sites[name]
	if s == nil {
		d.bad(path, "site %q is not defined%s", name, didYouMean(name, d.c.siteNames))
	}
	return s
}

// workloadSiteRef is siteRef for a place where workloads or data run: not a witness.
func (d doc) workloadSiteRef(path, name string) *v1alpha1.Site {
	s := d.siteRef(path, name)
	if s != nil && s.Spec.Role == v1alpha1.SiteRoleWitness {
		d.bad(path, "site %q is a witness: it only votes and runs no workloads or data", name)
		return nil
	}
	return s
}

func (c *checker) duplicates() {
	check := func(kind string, objs []any, names []string) {
		seen := map[string]any{}
		for i, obj := range objs {
			name := names[i]
			d := c.doc(obj, kind, name)
			if !d.required("metadata.name", name) {
				continue
			}
			if prev, dup := seen[name]; dup {
				o := c.f.origins[prev]
				where := "another document"
				if o.file != "" {
					where = fmt.Sprintf("%s document %d", o.file, o.doc)
				}
				d.bad("metadata.name", "duplicate %s %q (first defined in %s)", kind, name, where)
				continue
			}
			seen[name] = obj
		}
	}
	var objs []any
	var names []string
	for _, s := range c.f.Sites {
		objs, names = append(objs, s), append(names, s.Name)
		if s.Name != "" {
			if msgs := validation.IsDNS1123Label(s.Name); len(msgs) > 0 {
				c.doc(s, v1alpha1.KindSite, s.Name).bad("metadata.name", "%q is not a valid site name: %s", s.Name, msgs[0])
			}
		}
	}
	check(v1alpha1.KindSite, objs, names)
	objs, names = nil, nil
	for _, a := range c.f.Applications {
		objs, names = append(objs, a), append(names, a.Name)
		c.dnsSubdomainName(a, v1alpha1.KindApplication, a.Name)
	}
	check(v1alpha1.KindApplication, objs, names)
	objs, names = nil, nil
	for _, m := range c.f.MirrorSets {
		objs, names = append(objs, m), append(names, m.Name)
		c.dnsSubdomainName(m, v1alpha1.KindMirrorSet, m.Name)
	}
	check(v1alpha1.KindMirrorSet, objs, names)
	objs, names = nil, nil
	for _, p := range c.f.DNSProviders {
		objs, names = append(objs, p), append(names, p.Name)
		c.dnsSubdomainName(p, v1alpha1.KindDNSProvider, p.Name)
	}
	check(v1alpha1.KindDNSProvider, objs, names)
}

func (c *checker) dnsSubdomainName(obj any, kind, name string) {
	if name == "" {
		return
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		c.doc(obj, kind, name).bad("metadata.name", "%q is not a valid name: %s", name, msgs[0])
	}
}

// hostPort checks an address of the form host:port.
func (d doc) hostPort(path, addr string) {
	if !d.required(path, addr) {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		d.bad(path, "%q is not host:port: %s", addr, strings.TrimPrefix(err.Error(), "address "+addr+": "))
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		d.bad(path, "%q: port %q is not a number from 1 to 65535", addr, port)
		return
	}
	if host == "" {
		d.bad(path, "%q: host is empty", addr)
		return
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(host)); len(msgs) > 0 {
		d.bad(path, "%q: host %q is neither an IP address nor a DNS name", addr, host)
	}
}

// endpoint checks an Endpoint: its address and its per-region addresses.
func (d doc) endpoint(path string, e v1alpha1.Endpoint) {
	d.hostPort(path+".address", e.Address)
	regions := make([]string, 0, len(e.FromRegions))
	for r := range e.FromRegions {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		p := fmt.Sprintf("%s.fromRegions[%s]", path, r)
		if !d.c.regions[r] {
			d.bad(p, "region %q is not the region of any site%s", r, didYouMean(r, d.c.regionList))
		}
		d.hostPort(p, e.FromRegions[r])
	}
}
