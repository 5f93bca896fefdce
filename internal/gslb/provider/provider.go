// Package provider keeps DNS services hadron does not own — a company's BIND by RFC
// 2136, any external-dns provider through DNSEndpoint objects — in step with the
// answers of hadron's own name servers, the way external-dns does: read what the
// service holds, plan the changes for hadron's owner id (recordplan, dnsendpoint), and
// apply them. Every write made for a leader is fenced by its token: a provider that
// already holds a higher token for the owner refuses it (recordplan.ErrStale), and the
// write itself is conditional on what was read, so a deposed leader's late write
// racing a newer leader's is refused by the service.
package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/gslb/rfc2136"
)

// Provider is one DNS service hadron writes the applications' names to.
type Provider interface {
	// Name is the DNSProvider's name.
	Name() string
	// Sync reads what the service holds, plans the changes to the answers of st, and
	// applies them unless dryRun, fenced by token (zero: a person's one-off sync,
	// unfenced).
	Sync(ctx context.Context, st *gslb.State, token int64, dryRun bool) (Result, error)
	// Servers are the name servers verify asks (host:port).
	Servers() []string
	// Apps are the applications whose names the provider carries.
	Apps() []string
}

// Result is what one sync found and did (the document of `hadron dns sync`).
type Result struct {
	Provider string `json:"provider"`
	Type     string `json:"type"`
	Plans    []Plan `json:"plans"`
	// Errors are the parts that failed while others were written (a site's cluster
	// that cannot be reached).
	Errors []string `json:"errors,omitempty"`
}

// Changes counts the changes of every plan.
func (r Result) Changes() int {
	n := 0
	for _, p := range r.Plans {
		n += len(p.Changes)
	}
	return n
}

// Plan is one zone's (rfc2136) or one site's namespace's (dnsendpoint) plan.
type Plan struct {
	Zone      string     `json:"zone,omitempty"`
	Site      string     `json:"site,omitempty"`
	Namespace string     `json:"namespace,omitempty"`
	Owner     string     `json:"owner"`
	Changes   []Change   `json:"changes"`
	Conflicts []Conflict `json:"conflicts"`
	Applied   bool       `json:"applied"`
	// Text is the plan as --dry-run prints it.
	Text string `json:"-"`
}

// Change is one record set or object to create, update or delete.
type Change struct {
	Action  string   `json:"action"`
	Object  string   `json:"object"`
	Records []string `json:"records,omitempty"`
	Was     []string `json:"was,omitempty"`
}

// Conflict is a wanted record set or object that another owner holds.
type Conflict struct {
	Object string `json:"object"`
	Owner  string `json:"owner"`
}

// apps returns the applications of cat the provider spec carries: those named, else
// every one whose main name is inside the zone.
func apps(cat *gslb.Catalog, spec v1alpha1.DNSProviderSpec) []*gslb.App {
	zone := strings.ToLower(dns.Fqdn(spec.Zone))
	var out []*gslb.App
	for _, a := range cat.Apps {
		if len(spec.Applications) > 0 && !slices.Contains(spec.Applications, a.Name) {
			continue
		}
		if dns.IsSubDomain(zone, a.Main) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AppsOf names the applications of cat a provider with spec carries.
func AppsOf(cat *gslb.Catalog, spec v1alpha1.DNSProviderSpec) []string {
	return appNames(apps(cat, spec))
}

func appNames(as []*gslb.App) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

// RFC2136 writes into a zone of a primary server by signed dynamic updates.
type RFC2136 struct {
	name, owner, zone string
	client            *rfc2136.Provider
	cat               *gslb.Catalog
	apps              []*gslb.App
	servers           []string
}

// NewRFC2136 builds the provider of spec; secret is the TSIG key's (base64) and server
// the primary's address as this region reaches it.
func NewRFC2136(name string, spec v1alpha1.DNSProviderSpec, cat *gslb.Catalog, server, secret string, verify []string) (*RFC2136, error) {
	cfg := rfc2136.Config{Server: server, Zone: spec.Zone}
	if t := spec.RFC2136.TSIG; t != nil {
		cfg.KeyName, cfg.KeyAlgorithm, cfg.KeySecret = t.Name, t.Algorithm, secret
	}
	c, err := rfc2136.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("dns provider %s: %w", name, err)
	}
	if len(verify) == 0 {
		verify = []string{withPort(server)}
	}
	return &RFC2136{name: name, owner: spec.Owner, zone: strings.ToLower(dns.Fqdn(spec.Zone)), client: c, cat: cat,
		apps: apps(cat, spec), servers: verify}, nil
}

func (p *RFC2136) Name() string      { return p.name }
func (p *RFC2136) Servers() []string { return p.servers }
func (p *RFC2136) Apps() []string    { return appNames(p.apps) }

// Desired is the record sets of the provider's applications in state st.
func (p *RFC2136) Desired(st *gslb.State) []recordplan.Record {
	var out []recordplan.Record
	for _, a := range p.apps {
		for _, r := range recordplan.AppRecords(p.cat, st, a) {
			if dns.IsSubDomain(p.zone, r.Name) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (p *RFC2136) Sync(ctx context.Context, st *gslb.State, token int64, dryRun bool) (Result, error) {
	res := Result{Provider: p.name, Type: string(v1alpha1.DNSProviderRFC2136), Plans: []Plan{}}
	z, err := p.client.ReadZone(ctx)
	if err != nil {
		return res, fmt.Errorf("dns provider %s: %w", p.name, err)
	}
	plan := recordplan.Make(p.owner, z.Sets, p.Desired(st))
	res.Plans = append(res.Plans, RecordPlan(p.zone, plan))
	if dryRun {
		return res, nil
	}
	held := z.Fences[p.owner]
	switch {
	case token == 0 && !plan.Empty():
		err = p.client.Apply(ctx, plan)
	case token != 0 && (!plan.Empty() || held != token):
		err = p.client.ApplyFenced(ctx, plan, held, token)
	}
	if err != nil {
		return res, fmt.Errorf("dns provider %s: %w", p.name, err)
	}
	res.Plans[0].Applied = true
	return res, nil
}

// RecordPlan is the document of a zone plan.
func RecordPlan(zone string, p recordplan.Plan) Plan {
	out := Plan{Zone: zone, Owner: p.Owner, Changes: []Change{}, Conflicts: []Conflict{}, Text: p.String()}
	for _, c := range p.Changes {
		ch := Change{Action: string(c.Action), Object: c.Record.Name + " " + c.Record.Type}
		if c.Action != recordplan.Delete {
			ch.Records = []string{c.Record.String()}
		}
		if c.Old != nil {
			ch.Object = c.Old.Name + " " + c.Old.Type
			ch.Was = []string{c.Old.String()}
		}
		out.Changes = append(out.Changes, ch)
	}
	for _, c := range p.Conflicts {
		out.Conflicts = append(out.Conflicts, Conflict{Object: c.Want.Name + " " + c.Want.Type, Owner: c.Owner})
	}
	return out
}

// Cluster is one site's cluster that DNSEndpoints are written to.
type Cluster struct {
	Site string
	// Endpoints returns the writer of a namespace's DNSEndpoints.
	Endpoints func(namespace string) *dnsendpoint.Provider
}

// DNSEndpoint writes one DNSEndpoint per application into each site's cluster, for an
// external-dns there.
type DNSEndpoint struct {
	name, owner, namespace string
	weighted               bool
	cat                    *gslb.Catalog
	apps                   []*gslb.App
	appNS                  map[string]string
	clusters               []Cluster
	servers                []string
}

// NewDNSEndpoint builds the provider of spec; appNS gives each application's namespace.
func NewDNSEndpoint(name string, spec v1alpha1.DNSProviderSpec, cat *gslb.Catalog, appNS map[string]string, clusters []Cluster, verify []string) *DNSEndpoint {
	p := &DNSEndpoint{name: name, owner: spec.Owner, cat: cat, apps: apps(cat, spec), appNS: appNS, clusters: clusters, servers: verify}
	if e := spec.DNSEndpoint; e != nil {
		p.namespace, p.weighted = e.Namespace, e.SetIdentifiers
	}
	return p
}

func (p *DNSEndpoint) Name() string      { return p.name }
func (p *DNSEndpoint) Servers() []string { return p.servers }
func (p *DNSEndpoint) Apps() []string    { return appNames(p.apps) }

// Desired is the objects per namespace in state st.
func (p *DNSEndpoint) Desired(st *gslb.State) map[string]map[string][]recordplan.Record {
	out := map[string]map[string][]recordplan.Record{}
	for _, a := range p.apps {
		ns := p.namespace
		if ns == "" {
			ns = p.appNS[a.Name]
		}
		if out[ns] == nil {
			out[ns] = map[string][]recordplan.Record{}
		}
		recs := recordplan.AppRecords(p.cat, st, a)
		if p.weighted && a.Strategy != v1alpha1.StrategyRoundRobin {
			recs = recordplan.WeightedRecords(p.cat, st, a)
		}
		out[ns][dnsendpoint.ObjectName(a.Name)] = recs
	}
	return out
}

// Sync writes every cluster it can reach; it fails only when none accepted the
// answers, and lists the clusters that did not in Result.Errors (the loop retries
// them: the site of a lost region comes back with stale objects that it rewrites).
func (p *DNSEndpoint) Sync(ctx context.Context, st *gslb.State, token int64, dryRun bool) (Result, error) {
	res := Result{Provider: p.name, Type: string(v1alpha1.DNSProviderDNSEndpoint), Plans: []Plan{}}
	want := p.Desired(st)
	namespaces := make([]string, 0, len(want))
	for ns := range want {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	var errs []error
	ok := 0
	for _, c := range p.clusters {
		err := p.syncCluster(ctx, c, namespaces, want, token, dryRun, &res)
		if err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", c.Site, err))
			res.Errors = append(res.Errors, fmt.Sprintf("site %s: %v", c.Site, err))
			continue
		}
		ok++
	}
	if ok == 0 && len(errs) > 0 {
		return res, fmt.Errorf("dns provider %s: no cluster accepted the answers: %w", p.name, errors.Join(errs...))
	}
	return res, nil
}

func (p *DNSEndpoint) syncCluster(ctx context.Context, c Cluster, namespaces []string, want map[string]map[string][]recordplan.Record, token int64, dryRun bool, res *Result) error {
	for _, ns := range namespaces {
		w := c.Endpoints(ns)
		cur, err := w.Objects(ctx)
		if err != nil {
			return err
		}
		plan := dnsendpoint.MakePlan(p.owner, ns, cur, want[ns])
		if token != 0 {
			plan = dnsendpoint.Refence(plan, cur, token)
		}
		doc := EndpointPlan(c.Site, plan)
		res.Plans = append(res.Plans, doc)
		if dryRun || plan.Empty() {
			continue
		}
		if err := w.ApplyFenced(ctx, plan, dnsendpoint.Held(p.owner, cur), token); err != nil {
			return err
		}
		res.Plans[len(res.Plans)-1].Applied = true
	}
	return nil
}

// Scrub takes the applications' main names out of the provider's objects in site's
// cluster and keeps their per-site names (dnsendpoint.ScrubPlan): what a site without
// the majority, or one coming back after it was lost, must leave for its external-dns
// to read. A site the provider does not write to has nothing to scrub.
func (p *DNSEndpoint) Scrub(ctx context.Context, site string, dryRun bool) (Result, error) {
	res := Result{Provider: p.name, Type: string(v1alpha1.DNSProviderDNSEndpoint), Plans: []Plan{}}
	mains := map[string]bool{}
	namespaces := map[string]bool{}
	for _, a := range p.apps {
		mains[a.Main] = true
		ns := p.namespace
		if ns == "" {
			ns = p.appNS[a.Name]
		}
		namespaces[ns] = true
	}
	drop := func(name string) bool { return mains[name] }
	for _, c := range p.clusters {
		if c.Site != site {
			continue
		}
		for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
			plan, err := c.Endpoints(ns).Scrub(ctx, p.owner, drop, dryRun)
			if err != nil {
				return res, fmt.Errorf("dns provider %s: scrub site %s: %w", p.name, site, err)
			}
			doc := EndpointPlan(site, plan)
			doc.Applied = !dryRun && !plan.Empty()
			res.Plans = append(res.Plans, doc)
		}
	}
	return res, nil
}

// EndpointPlan is the document of a namespace plan at site ("" when not known).
func EndpointPlan(site string, p dnsendpoint.Plan) Plan {
	out := Plan{Site: site, Namespace: p.Namespace, Owner: p.Owner, Changes: []Change{}, Conflicts: []Conflict{}, Text: p.String()}
	for _, c := range p.Changes {
		ch := Change{Action: string(c.Action), Object: "DNSEndpoint " + p.Namespace + "/" + c.Name}
		for _, r := range c.Endpoints {
			ch.Records = append(ch.Records, r.String())
		}
		out.Changes = append(out.Changes, ch)
	}
	for _, o := range p.Conflicts {
		out.Conflicts = append(out.Conflicts, Conflict{Object: "DNSEndpoint " + p.Namespace + "/" + o.Name, Owner: o.Owner})
	}
	return out
}

func withPort(addr string) string {
	if strings.LastIndex(addr, ":") > strings.LastIndex(addr, "]") {
		return addr
	}
	return addr + ":53"
}

var errType = errors.New("not rfc2136 or dnsendpoint")
