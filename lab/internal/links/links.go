// Package links runs the lab's cross-region links: one toxiproxy listener per service
// a region reaches in another region, with latency, and cuts that stop a whole link.
package links

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"hadron.dev/hadron/lab/internal/topology"
)

// ErrUnknownLink is returned for a pair of sites the lab does not link.
var ErrUnknownLink = errors.New("unknown link")

// Status is one link as `hadron lab status` shows it.
type Status struct {
	Link    string        `json:"link"`
	Cut     bool          `json:"cut"`
	Latency time.Duration `json:"latency"`
	Proxies int           `json:"proxies"`
}

// Links owns every proxy of the lab.
type Links struct {
	log    *slog.Logger
	cfg    topology.Config
	server *toxiproxy.ApiServer

	mu      sync.Mutex
	proxies []*entry
	cut     map[topology.Link]bool
	latency map[topology.Link]time.Duration
}

type entry struct {
	spec  topology.Proxy
	proxy *toxiproxy.Proxy
}

// Start listens on every proxy of cfg with the config's latency. On error nothing is
// left listening.
func Start(cfg topology.Config, log *slog.Logger) (*Links, error) {
	specs, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}
	l := &Links{
		log:     log,
		cfg:     cfg,
		server:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		cut:     map[topology.Link]bool{},
		latency: map[topology.Link]time.Duration{},
	}
	for _, link := range cfg.Links() {
		l.latency[link] = cfg.Latency.Duration
	}
	for _, s := range specs {
		p := toxiproxy.NewProxy(l.server, s.Name, s.Listen, s.Upstream)
		if err := p.Start(); err != nil {
			l.Close()
			return nil, fmt.Errorf("link proxy %s on %s: %w", s.Name, s.Listen, err)
		}
		e := &entry{spec: s, proxy: p}
		l.proxies = append(l.proxies, e)
		if err := setLatency(e, cfg.Latency.Duration); err != nil {
			l.Close()
			return nil, err
		}
	}
	log.Info("links up", "proxies", len(specs), "latency", cfg.Latency.Duration)
	return l, nil
}

// latency toxics on both directions: each way of a connection waits d.
func setLatency(e *entry, d time.Duration) error {
	if err := SetProxyLatency(e.proxy, d); err != nil {
		return fmt.Errorf("link proxy %s: %w", e.spec.Name, err)
	}
	return nil
}

// SetProxyLatency puts the lab's latency on one toxiproxy proxy: a latency toxic on
// each direction, so each way of a connection waits d (a round trip 2d); 0 removes
// them. The backup bench (lab/e2e/backup) makes its store link with it.
func SetProxyLatency(p *toxiproxy.Proxy, d time.Duration) error {
	for _, stream := range []string{"upstream", "downstream"} {
		name := "latency_" + stream
		if p.Toxics.GetToxic(name) != nil {
			if err := p.Toxics.RemoveToxic(context.Background(), name); err != nil {
				return fmt.Errorf("remove latency: %w", err)
			}
		}
		if d <= 0 {
			continue
		}
		body := fmt.Sprintf(`{"name":%q,"type":"latency","stream":%q,"attributes":{"latency":%d}}`, name, stream, d.Milliseconds())
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			return fmt.Errorf("add latency: %w", err)
		}
	}
	return nil
}

func (l *Links) link(a, b string) (topology.Link, error) {
	link, ok := l.cfg.LinkOf(a, b)
	if !ok {
		return topology.Link{}, fmt.Errorf("%w %s-%s (sites: %s)", ErrUnknownLink, a, b, strings.Join(l.siteNames(), ", "))
	}
	return link, nil
}

func (l *Links) siteNames() []string {
	var out []string
	for _, s := range l.cfg.Sites {
		out = append(out, s.Name)
	}
	return out
}

// Cut stops every proxy of the link between a and b: new connections are refused and
// open ones are closed, in both directions.
func (l *Links) Cut(a, b string) error {
	link, err := l.link(a, b)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.proxies {
		if e.spec.OnLink(link) {
			e.proxy.Stop()
		}
	}
	l.cut[link] = true
	l.log.Info("link cut", "link", link.String())
	return nil
}

// CutOneWay stops the proxies that carry connections from a to b: a can no longer
// reach any service of b, while b still reaches a (an asymmetric partition: a
// firewall rule or a route lost in one direction). The link counts as cut until
// Heal.
func (l *Links) CutOneWay(from, to string) error {
	link, err := l.link(from, to)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.proxies {
		// The object store dials no one: one way to it is the whole of its link.
		if (e.spec.From == from && e.spec.To == to) || (to == topology.ObjectStore && e.spec.OnLink(link)) {
			e.proxy.Stop()
		}
	}
	l.cut[link] = true
	l.log.Info("link cut one way", "from", from, "to", to)
	return nil
}

// Heal restarts the proxies of a cut link.
func (l *Links) Heal(a, b string) error {
	link, err := l.link(a, b)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, e := range l.proxies {
		// A proxy to the object store is on two links; it stays stopped while the
		// other one is cut.
		if e.spec.OnLink(link) && !e.proxy.Enabled && !l.cutElsewhere(e, link) {
			if err := e.proxy.Start(); err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", e.spec.Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	delete(l.cut, link)
	l.log.Info("link healed", "link", link.String())
	return nil
}

// cutElsewhere says whether e is on a cut link other than except. Callers hold mu.
func (l *Links) cutElsewhere(e *entry, except topology.Link) bool {
	for link := range l.cut {
		if link != except && e.spec.OnLink(link) {
			return true
		}
	}
	return false
}

// SetLatency sets the one-way latency of the link between a and b.
func (l *Links) SetLatency(a, b string, d time.Duration) error {
	if d < 0 || d > 5*time.Second {
		return fmt.Errorf("latency %s is outside 0..5s", d)
	}
	link, err := l.link(a, b)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.proxies {
		if e.spec.OnLink(link) {
			if err := setLatency(e, d); err != nil {
				return err
			}
		}
	}
	l.latency[link] = d
	l.log.Info("link latency", "link", link.String(), "latency", d)
	return nil
}

// Status lists every link.
func (l *Links) Status() []Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Status
	for _, link := range l.cfg.Links() {
		n := 0
		for _, e := range l.proxies {
			if e.spec.OnLink(link) {
				n++
			}
		}
		out = append(out, Status{Link: link.String(), Cut: l.cut[link], Latency: l.latency[link], Proxies: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Link < out[j].Link })
	return out
}

// Close stops every proxy.
func (l *Links) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.proxies {
		e.proxy.Stop()
	}
	l.proxies = nil
}
