package load

import (
	"context"
	"net"
	"time"
)

// ResolverAt returns a resolver that sends every query to the DNS server at addr
// (host:port), e.g. hadron's GSLB name server, instead of the system's. Go's resolver
// keeps no cache, so each new connection sees the current answer.
func ResolverAt(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
	}
}
