package gslb

import (
	"context"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// LookupA asks server (host:port) for name's A records as a stub resolver would, and
// returns their addresses and the first one's TTL. The daemons check their answers with
// it, and drills resolve the main name with it.
func LookupA(ctx context.Context, server, name string) (ips []string, ttl uint32, err error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	in, _, err := (&dns.Client{Timeout: time.Second}).ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, 0, fmt.Errorf("resolve %s at %s: %w", name, server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return nil, 0, fmt.Errorf("resolve %s at %s: %s", name, server, dns.RcodeToString[in.Rcode])
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
