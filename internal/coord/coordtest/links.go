package coordtest

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"hadron.dev/hadron/internal/fleet"
)

// Links puts a toxiproxy listener on every cross-region path between the daemons'
// etcd peers, the way the lab does: region F reaches member T's peer address through
// 127.0.<net>.(100+10F+T):2380. Cutting a site stops every proxy to and from it.
type Links struct {
	srv     *toxiproxy.ApiServer
	mu      sync.Mutex
	proxies map[[2]string][]*toxiproxy.Proxy // {from, to} site names
}

// Proxy adds a proxy on the link from→to: listen forwards to upstream until the link is
// cut.
func (l *Links) Proxy(t testing.TB, from, to, listen, upstream string) {
	t.Helper()
	p := toxiproxy.NewProxy(l.srv, fmt.Sprintf("%s>%s/%s", from, to, upstream), listen, upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{from, to}
	l.proxies[k] = append(l.proxies[k], p)
}

// WithLinks rewrites f's peer endpoints with per-region addresses and starts the
// proxies. Call it before StartCluster.
func WithLinks(t testing.TB, f *fleet.Fleet, netID int) *Links {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	l := &Links{srv: srv, proxies: map[[2]string][]*toxiproxy.Proxy{}}
	var daemons []int
	for i, s := range f.Sites {
		if s.Spec.Daemon != nil && s.Spec.Daemon.Peer != nil {
			daemons = append(daemons, i)
		}
	}
	for ti, T := range daemons {
		to := f.Sites[T]
		to.Spec.Daemon.Peer.FromRegions = map[string]string{}
		for fi, F := range daemons {
			if F == T {
				continue
			}
			from := f.Sites[F]
			listen := net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", netID, 100+10*(fi+1)+(ti+1)), "2380")
			l.Proxy(t, from.Name, to.Name, listen, to.Spec.Daemon.Peer.Address)
			to.Spec.Daemon.Peer.FromRegions[from.Spec.Region] = listen
		}
	}
	return l
}

// Cut stops every link to and from site: open connections close, new ones are refused.
func (l *Links) Cut(site string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, ps := range l.proxies {
		for _, p := range ps {
			if k[0] == site || k[1] == site {
				p.Stop()
			}
		}
	}
}

// Heal restarts the links of site.
func (l *Links) Heal(t testing.TB, site string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, ps := range l.proxies {
		for _, p := range ps {
			if (k[0] == site || k[1] == site) && !p.Enabled {
				if err := p.Start(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
