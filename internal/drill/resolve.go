package drill

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
)

// Resolver is a client that resolves names at one DNS server and keeps each answer as
// long as its TTL allows, as a well-behaved stub resolver does. A drill's load goes
// through it, so the client RTO it measures includes the time a client keeps using the
// old site's address after the answer changed — the cost of the TTL.
type Resolver struct {
	// Server is the DNS server (host:port), e.g. a hadron daemon's name server.
	Server string
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	ip      string
	expires time.Time
}

// Lookup returns an IPv4 address of host, from the cache while its TTL lasts.
func (r *Resolver) Lookup(ctx context.Context, host string) (string, error) {
	now := r.now()
	name := dns.Fqdn(host)
	r.mu.Lock()
	c, ok := r.cache[name]
	r.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.ip, nil
	}
	ips, ttl, err := gslb.LookupA(ctx, r.Server, name)
	if err != nil {
		return "", err
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolve %s at %s: no A record", host, r.Server)
	}
	ip := ips[0]
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]cached{}
	}
	r.cache[name] = cached{ip: ip, expires: now.Add(time.Duration(ttl) * time.Second)}
	r.mu.Unlock()
	return ip, nil
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// HTTPClient returns a client that dials through r, a new connection per request (a
// client that holds a connection open would not see a DNS change at all).
func (r *Resolver) HTTPClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if net.ParseIP(host) == nil {
				if host, err = r.Lookup(ctx, host); err != nil {
					return nil, err
				}
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(host, port))
		},
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}
