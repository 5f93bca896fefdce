package coordtest

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/testenv/netlink"
)

// Links puts a proxy (a netlink.Link) on every cross-region path between the daemons'
// etcd peers, the way the lab does with toxiproxy: region F reaches member T's peer
// address through 127.0.<net>.(100+10F+T):2380. Cutting a site stops every proxy to and
// from it.
type Links struct {
	mu      sync.Mutex
	proxies map[[2]string][]*netlink.Link // {from, to} site names
}

// Proxy adds a proxy on the link from→to: listen forwards to upstream until the link is
// cut.
func (l *Links) Proxy(t testing.TB, from, to, listen, upstream string) {
	t.Helper()
	p := netlink.Listen(t, listen, upstream, 0)
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{from, to}
	l.proxies[k] = append(l.proxies[k], p)
}

// WithLinks rewrites f's peer endpoints with per-region addresses and starts the
// proxies. Call it before StartCluster.
func WithLinks(t testing.TB, f *fleet.Fleet, netID int) *Links {
	t.Helper()
	l := &Links{proxies: map[[2]string][]*netlink.Link{}}
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
				p.Cut()
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
			if k[0] == site || k[1] == site {
				if err := p.Heal(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
