package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/provider"
	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/retry"
)

// publishWait bounds how long a runbook's dns step waits for the providers to accept
// the new answer before the run stops (resumable) naming those that did not.
const publishWait = 10 * time.Second

// dnsProviders is the leader loop that keeps every DNSProvider of the fleet in step
// with the application state in etcd: at once after every change, and every
// provider's interval when nothing changed (someone edited the zone). One sync runs at
// a time; a runbook's dns step publishes through the same path (Publish). What each
// provider last did is kept in etcd for every daemon's status.
type dnsProviders struct {
	fleet   *fleet.Fleet
	catalog *gslb.Catalog
	region  string
	client  *clientv3.Client
	store   *coordstate.Store
	log     *slog.Logger

	mu    sync.Mutex // one sync at a time; guards built
	built []provider.Provider

	// site is this daemon's; fence is the quorum's decision for scrubLoop, which
	// scrubs the site's DNSEndpoints while fenced.
	site  string
	fence *fenceDecision

	smu    sync.Mutex
	status map[string]api.DNSProviderStatus
	// published is, per provider, the site each application's main name was last
	// accepted at, under the current token.
	published map[string]map[string]string
}

func newDNSProviders(f *fleet.Fleet, cat *gslb.Catalog, s *v1alpha1.Site, c *clientv3.Client, store *coordstate.Store, log *slog.Logger) *dnsProviders {
	return &dnsProviders{fleet: f, catalog: cat, region: s.Spec.Region, site: s.Name, client: c, store: store, log: log.With("component", "dns-providers"),
		status: map[string]api.DNSProviderStatus{}, published: map[string]map[string]string{}, fence: newFenceDecision()}
}

// scrubLoop takes the main names out of this site's DNSEndpoints whenever the site
// loses the majority (provider.DNSEndpoint.Scrub), retrying until done or the majority
// is back: the failover that may follow is decided without this site, and its
// external-dns must not keep writing the answers it last had (with --policy=upsert-only
// it then writes nothing for those names). The leader writes them again when it next
// reaches the site.
func (p *dnsProviders) scrubLoop(ctx context.Context) {
	if len(p.fleet.DNSProviders) == 0 || p.catalog == nil {
		return
	}
	for {
		if _, ok := p.fence.next(ctx); !ok {
			return
		}
		for p.fence.now() {
			err := p.scrubLocal(ctx)
			if err == nil {
				break
			}
			p.log.Warn("self-fence: this site's DNSEndpoints still name the main names", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// scrubLocal scrubs this site's objects of every dnsendpoint provider.
func (p *dnsProviders) scrubLocal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p.mu.Lock()
	built, err := p.providers(ctx)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	var errs []error
	for _, pr := range built {
		de, ok := pr.(*provider.DNSEndpoint)
		if !ok {
			continue
		}
		res, err := de.Scrub(ctx, p.site, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n := res.Changes(); n > 0 {
			p.log.Warn("self-fence: main names taken out of this site's DNSEndpoints", "provider", de.Name(), "objects", n)
		}
	}
	return errors.Join(errs...)
}

// interval is the shortest of the providers' intervals.
func (p *dnsProviders) interval() time.Duration {
	d := fleet.DefaultProviderInterval
	for _, dp := range p.fleet.DNSProviders {
		if dp.Spec.Interval != nil && dp.Spec.Interval.Duration < d {
			d = dp.Spec.Interval.Duration
		}
	}
	return d
}

func (p *dnsProviders) lead(ctx context.Context, lt *term) {
	if len(p.fleet.DNSProviders) == 0 || p.catalog == nil {
		return
	}
	p.smu.Lock()
	p.published = map[string]map[string]string{} // a new term writes its own fence first
	p.smu.Unlock()
	changes, err := p.store.Watch(ctx)
	if err != nil {
		return
	}
	tick := time.NewTicker(p.interval())
	defer tick.Stop()
	retryTick := time.NewTicker(2 * time.Second)
	defer retryTick.Stop()
	var version uint64
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-changes:
			if st.Version == version {
				continue
			}
			version = st.Version
		case <-tick.C:
		case <-retryTick.C:
			if !failing {
				continue
			}
		}
		if !p.store.Synced() {
			continue // never write the policy's default over what etcd says
		}
		st, _ := p.store.Current(ctx)
		err := p.syncAll(ctx, lt.tok, &st, nil)
		if coord.IsFenced(err) {
			return
		}
		failing = err != nil
	}
}

// providers builds the providers once; a failure (a secret not readable yet) is
// retried at the next sync.
func (p *dnsProviders) providers(ctx context.Context) ([]provider.Provider, error) {
	if p.built != nil {
		return p.built, nil
	}
	built, err := provider.FromFleet(ctx, p.fleet, p.catalog, p.region)
	if err != nil {
		return nil, err
	}
	p.built = built
	return built, nil
}

// syncAll syncs every provider (only those carrying app when app is set) to st under
// tok. It returns the providers' errors joined; coord.ErrFenced when a provider
// holds a newer token (this leader is deposed).
func (p *dnsProviders) syncAll(ctx context.Context, tok coord.Token, st *gslb.State, only []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	provs, err := p.providers(ctx)
	if err != nil {
		for _, dp := range p.fleet.DNSProviders {
			p.record(ctx, tok, api.DNSProviderStatus{Name: dp.Name, Type: string(dp.Spec.Type), Zone: dp.Spec.Zone, Error: err.Error()}, nil)
		}
		return err
	}
	var errs []error
	for _, pr := range provs {
		if len(only) > 0 && !slices.ContainsFunc(pr.Apps(), func(a string) bool { return slices.Contains(only, a) }) {
			continue
		}
		dp := p.fleet.DNSProvider(pr.Name())
		s := api.DNSProviderStatus{Name: pr.Name(), Type: string(dp.Spec.Type), Zone: dp.Spec.Zone, StateVersion: st.Version}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := pr.Sync(sctx, st, tok.Rev, false)
		cancel()
		s.Changes, s.Errors = res.Changes(), res.Errors
		if err != nil {
			s.Error = err.Error()
			errs = append(errs, err)
			if errors.Is(err, recordplan.ErrStale) {
				p.record(ctx, tok, s, nil)
				return fmt.Errorf("%w: %w", coord.ErrFenced, err)
			}
			p.record(ctx, tok, s, nil)
			continue
		}
		s.OK, s.SyncedAt = true, time.Now().UTC()
		at := map[string]string{}
		for _, app := range pr.Apps() {
			at[app] = activeOf(p.fleet, st, app)
		}
		if res.Changes() > 0 {
			p.log.Info("dns provider written", "provider", pr.Name(), "changes", res.Changes(), "state", st.Version, "token", tok.Rev)
		}
		p.record(ctx, tok, s, at)
	}
	return errors.Join(errs...)
}

// activeOf is app's active site in st (the policy's when none is set).
func activeOf(f *fleet.Fleet, st *gslb.State, app string) string {
	if a := st.Apps[app].Active; a != "" {
		return a
	}
	if a := f.Application(app); a != nil {
		return a.Spec.Policy.ActiveSite
	}
	return ""
}

// record keeps s, and publishes it in etcd when it changed (guarded by tok: a
// deposed leader's status is not written).
func (p *dnsProviders) record(ctx context.Context, tok coord.Token, s api.DNSProviderStatus, at map[string]string) {
	p.smu.Lock()
	prev, had := p.status[s.Name]
	p.status[s.Name] = s
	if at != nil {
		p.published[s.Name] = at
	} else {
		delete(p.published, s.Name)
	}
	p.smu.Unlock()
	if had && prev.OK == s.OK && prev.Error == s.Error && slices.Equal(prev.Errors, s.Errors) && s.Changes == 0 {
		return
	}
	if had && prev.Error != s.Error && s.Error != "" {
		p.log.Warn("dns provider failed", "provider", s.Name, "err", s.Error)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = coord.Guarded(wctx, p.client, tok, clientv3.OpPut(coord.DNSProviderKey(s.Name), string(b)))
}

// Publish implements runbook.DNSProviders: the answers with app active at site, to
// every provider that carries app, retried for publishWait.
func (p *dnsProviders) Publish(ctx context.Context, tok coord.Token, app, site string) (string, error) {
	if !p.carries(app) {
		return "", nil
	}
	deadline := time.Now().Add(publishWait)
	for {
		st := p.withActive(ctx, app, site)
		err := p.syncAll(ctx, tok, &st, []string{app})
		if err == nil {
			names := strings.Join(p.carriers(app), ", ")
			if st.Apps[app].Health[site] == probe.Down {
				// The answer never names a site the quorum finds down (gslb's failover
				// choice), so the providers keep the old answer until the probes see
				// the site up; verify waits for that. Say so rather than claim it.
				return "dns providers " + names + " have " + site + " active; they answer it once the quorum sees it up", nil
			}
			return "dns providers " + names + " answer " + site, nil
		}
		if coord.IsFenced(err) {
			return "", err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", retry.Permanent("dns providers did not accept %s at %s within %s (resume the run once they do): %w", app, site, publishWait, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Published implements runbook.DNSProviders.
func (p *dnsProviders) Published(app, site string) bool {
	p.smu.Lock()
	defer p.smu.Unlock()
	for _, name := range p.carriers(app) {
		if p.published[name][app] != site {
			return false
		}
	}
	return true
}

// Verify implements runbook.DNSProviders: every server of every provider that
// carries app answers the main name with site's addresses.
func (p *dnsProviders) Verify(ctx context.Context, app, site string) (string, error) {
	p.mu.Lock()
	provs, err := p.providers(ctx)
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	st := p.withActive(ctx, app, site)
	name, want := provider.MainAnswer(p.catalog, &st, app)
	var parts []string
	for _, pr := range provs {
		if !slices.Contains(pr.Apps(), app) || len(pr.Servers()) == 0 {
			continue
		}
		d, err := provider.Verify(ctx, pr, name, want)
		if err != nil {
			return "", err
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "; "), nil
}

// withActive is the current state with app active at site (a copy: the store's maps
// are shared).
func (p *dnsProviders) withActive(ctx context.Context, app, site string) gslb.State {
	st, _ := p.store.Current(ctx)
	st.Apps = maps.Clone(st.Apps)
	as := st.Apps[app]
	as.Active = site
	st.Apps[app] = as
	return st
}

func (p *dnsProviders) carries(app string) bool { return len(p.carriers(app)) > 0 }

// carriers are the providers whose applications include app (from the fleet, so that
// a provider that could not be built still counts).
func (p *dnsProviders) carriers(app string) []string {
	var out []string
	for _, dp := range p.fleet.DNSProviders {
		if slices.Contains(provider.AppsOf(p.catalog, dp.Spec), app) {
			out = append(out, dp.Name)
		}
	}
	sort.Strings(out)
	return out
}

// readDNSProviders reads what the leader published of every provider.
func readDNSProviders(ctx context.Context, c *clientv3.Client) []api.DNSProviderStatus {
	resp, err := c.Get(ctx, coord.DNSProvidersDir, clientv3.WithPrefix())
	if err != nil {
		return nil
	}
	var out []api.DNSProviderStatus
	for _, kv := range resp.Kvs {
		var s api.DNSProviderStatus
		if json.Unmarshal(kv.Value, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}
