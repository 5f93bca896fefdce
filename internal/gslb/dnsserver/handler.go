package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
)

// Handler answers one DNS message, CoreDNS style: it writes the reply itself and
// returns the RCODE it answered with, for logs and metrics.
type Handler interface {
	ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error)

// ServeDNS implements Handler.
func (f HandlerFunc) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return f(ctx, w, r)
}

// Middleware wraps a handler.
type Middleware func(next Handler) Handler

// Chain returns last wrapped by mws, the first of mws outermost.
func Chain(last Handler, mws ...Middleware) Handler {
	h := last
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Sanitize answers what is not a plain query before it reaches the answer: it drops
// responses, answers other opcodes NOTIMP, malformed questions FORMERR, EDNS versions
// above 0 BADVERS, other classes and zone transfers REFUSED.
func Sanitize(next Handler) Handler {
	return HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		if r.Response {
			return dns.RcodeSuccess, nil // never answer an answer
		}
		rcode := -1
		opt := r.IsEdns0()
		switch {
		case r.Opcode != dns.OpcodeQuery:
			rcode = dns.RcodeNotImplemented
		case len(r.Question) != 1:
			rcode = dns.RcodeFormatError
		case opt != nil && opt.Version() != 0:
			rcode = dns.RcodeBadVers
		case r.Question[0].Qclass != dns.ClassINET,
			r.Question[0].Qtype == dns.TypeAXFR, r.Question[0].Qtype == dns.TypeIXFR:
			rcode = dns.RcodeRefused
		case r.Question[0].Qtype == dns.TypeOPT || r.Question[0].Qtype == dns.TypeTSIG || r.Question[0].Qtype == dns.TypeTKEY:
			rcode = dns.RcodeFormatError
		}
		if rcode < 0 {
			return next.ServeDNS(ctx, w, r)
		}
		m := new(dns.Msg)
		m.SetRcode(r, rcode)
		if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
			m.Question = nil
		}
		if opt != nil {
			m.SetEdns0(ednsSize, false)
			if rcode == dns.RcodeBadVers {
				m.Rcode = dns.RcodeBadVers // SetEdns0 first, so the extended bits land in the OPT
			}
		}
		return rcode, w.WriteMsg(m)
	})
}

// Answer is the last handler: it answers from the engine's current state with the
// pure answer function, with EDNS, Client Subnet and truncation handled here.
func Answer(e *Engine) Handler {
	return HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		c := e.current()
		if c == nil {
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeServerFailure)
			return dns.RcodeServerFailure, w.WriteMsg(m)
		}
		q := r.Question[0]
		opt := r.IsEdns0()
		query := gslb.Query{Name: strings.ToLower(q.Name), Type: q.Qtype, Client: addrOf(w.RemoteAddr()), Seq: e.seq.Add(1) - 1}
		var ecs *dns.EDNS0_SUBNET
		if opt != nil {
			for _, o := range opt.Option {
				if s, ok := o.(*dns.EDNS0_SUBNET); ok {
					ecs = s
					if a, ok := netip.AddrFromSlice(s.Address); ok {
						query.Client = a.Unmap()
					}
				}
			}
		}
		res := c.cat.Answer(&c.st, query)
		m := respond(q.Name, q.Qtype, res)
		m.Id, m.RecursionDesired, m.CheckingDisabled = r.Id, r.RecursionDesired, r.CheckingDisabled
		m.Compress = true
		size := dns.MaxMsgSize
		if isUDP(w) {
			size = dns.MinMsgSize
		}
		if opt != nil {
			m.SetEdns0(ednsSize, opt.Do())
			if ecs != nil {
				// RFC 7871: echo the option; the scope says how wide the answer holds.
				reply := *ecs
				reply.SourceScope = res.Scope
				m.IsEdns0().Option = append(m.IsEdns0().Option, &reply)
			}
			if isUDP(w) {
				// Never more than hadron advertises, whatever the client offers: a
				// larger datagram fragments, and an amplified reply is a weapon.
				size = min(max(int(opt.UDPSize()), dns.MinMsgSize), ednsSize)
			}
		}
		m.Truncate(size)
		return res.Rcode, w.WriteMsg(m)
	})
}

func isUDP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.UDPAddr)
	return ok
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
