package drill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
)

// Resolver is the drill client's stub resolver: it asks the zone's name servers in
// turn and keeps each answer as long as its TTL allows, as a well-behaved stub
// resolver does. A drill's load goes through it, so the client RTO it measures
// includes the time a client keeps using the old site's address after the answer
// changed — the cost of the TTL — and survives the loss of a name server, as a real
// client with several name servers configured does.
type Resolver struct {
	// Servers are the zone's name servers (host:port), e.g. the hadron daemons'. A
	// lookup asks them one after the other, starting with the one that answered last,
	// and goes on to the next when one does not answer within Timeout or answers
	// SERVFAIL, REFUSED, NOTIMP or FORMERR; Attempts rounds over all of them.
	Servers []string
	// Timeout is how long one server is given (default 1 s); Attempts how many times
	// each is tried at most (default 2).
	Timeout  time.Duration
	Attempts int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	cache   map[string]cached
	current int // index of the server that answered last
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
	ips, ttl, err := r.ask(ctx, name)
	if err != nil {
		return "", err
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

// ask queries the servers in turn until one gives a final answer: addresses, or an
// answer that another server would only repeat (NXDOMAIN, no A record).
func (r *Resolver) ask(ctx context.Context, name string) ([]string, uint32, error) {
	if len(r.Servers) == 0 {
		return nil, 0, fmt.Errorf("resolve %s: no name server", name)
	}
	timeout, attempts := r.Timeout, r.Attempts
	if timeout <= 0 {
		timeout = time.Second
	}
	if attempts <= 0 {
		attempts = 2
	}
	r.mu.Lock()
	first := r.current
	r.mu.Unlock()
	var errs []error
	for round := 0; round < attempts; round++ {
		for k := range r.Servers {
			i := (first + k) % len(r.Servers)
			server := r.Servers[i]
			qctx, cancel := context.WithTimeout(ctx, timeout)
			ips, ttl, err := gslb.LookupA(qctx, server, name)
			cancel()
			if ctx.Err() != nil {
				return nil, 0, fmt.Errorf("resolve %s: %w", name, ctx.Err())
			}
			if err != nil && tryNext(err) {
				errs = append(errs, err)
				continue
			}
			r.mu.Lock()
			r.current = i
			r.mu.Unlock()
			if err != nil {
				return nil, 0, err
			}
			if len(ips) == 0 {
				return nil, 0, fmt.Errorf("resolve %s at %s: no A record", name, server)
			}
			return ips, ttl, nil
		}
	}
	return nil, 0, fmt.Errorf("resolve %s: no name server answered: %w", name, errors.Join(errs...))
}

// tryNext says whether another name server may answer where this one failed: it did
// not answer, or said it cannot.
func tryNext(err error) bool {
	var rc *gslb.RcodeError
	if errors.As(err, &rc) {
		switch rc.Rcode {
		case dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeNotImplemented, dns.RcodeFormatError:
			return true
		}
		return false
	}
	return true
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
