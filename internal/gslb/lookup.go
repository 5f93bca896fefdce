package gslb

import (
	"context"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// lookupTimeout bounds one query when ctx has no deadline.
const lookupTimeout = time.Second

// RcodeError is a name server's answer that is not NOERROR (REFUSED, SERVFAIL,
// NXDOMAIN, …): the server is there and said no.
type RcodeError struct {
	Server, Name string
	Rcode        int
}

func (e *RcodeError) Error() string {
	return fmt.Sprintf("resolve %s at %s: %s", e.Name, e.Server, dns.RcodeToString[e.Rcode])
}

// LookupA asks server (host:port) for name's A records as a stub resolver would, and
// returns their addresses and the first one's TTL. The daemons check their answers with
// it, and drills resolve the main name with it. The query waits until ctx's deadline,
// or a second without one; a reply other than NOERROR is a *RcodeError.
func LookupA(ctx context.Context, server, name string) (ips []string, ttl uint32, err error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	timeout := lookupTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	in, _, err := (&dns.Client{Timeout: timeout}).ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, 0, fmt.Errorf("resolve %s at %s: %w", name, server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return nil, 0, &RcodeError{Server: server, Name: name, Rcode: in.Rcode}
	}
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			if len(ips) == 0 {
				ttl = a.Hdr.Ttl
			}
			ips = append(ips, a.A.String())
		}
	}
	return ips, ttl, nil
}
