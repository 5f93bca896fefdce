// Package rfc2136 writes hadron's records into a zone it cannot own outright, with
// dynamic updates (RFC 2136) signed with TSIG (RFC 8945). It reads the zone with a
// zone transfer, and applies a recordplan.Plan one record set per update message, each
// guarded by prerequisites, so that a record someone else wrote in the meantime makes
// the update fail instead of being overwritten.
package rfc2136

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb/recordplan"
)

// Config says which server and zone to update and with which key.
type Config struct {
	// Server is the primary server's host:port.
	Server string
	Zone   string
	// KeyName, KeyAlgorithm (default hmac-sha256) and KeySecret (base64) sign every
	// message. The secret never appears in errors or logs.
	KeyName, KeyAlgorithm, KeySecret string
	// Timeout bounds each exchange (default 10 s).
	Timeout time.Duration
}

// Provider reads and updates one zone.
type Provider struct {
	cfg Config
}

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Server == "" || cfg.Zone == "" {
		return nil, fmt.Errorf("rfc2136: server and zone: %w", ErrConfig)
	}
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		cfg.Server = net.JoinHostPort(cfg.Server, "53")
	}
	cfg.Zone = strings.ToLower(dns.Fqdn(cfg.Zone))
	if cfg.KeyName != "" {
		cfg.KeyName = strings.ToLower(dns.Fqdn(cfg.KeyName))
		if cfg.KeyAlgorithm == "" {
			cfg.KeyAlgorithm = dns.HmacSHA256
		}
		cfg.KeyAlgorithm = dns.Fqdn(cfg.KeyAlgorithm)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Provider{cfg: cfg}, nil
}

func (p *Provider) sign(m *dns.Msg) {
	if p.cfg.KeyName != "" {
		m.SetTsig(p.cfg.KeyName, p.cfg.KeyAlgorithm, 300, time.Now().Unix())
	}
}

func (p *Provider) secrets() map[string]string {
	if p.cfg.KeyName == "" {
		return nil
	}
	return map[string]string{p.cfg.KeyName: p.cfg.KeySecret}
}

// Records reads the zone by AXFR and returns its A, AAAA and CNAME record sets with
// their owners.
func (p *Provider) Records(ctx context.Context) ([]recordplan.Existing, error) {
	z, err := p.ReadZone(ctx)
	if err != nil {
		return nil, err
	}
	return z.Sets, nil
}

// Zone is what a zone transfer found: the record sets with their owners, and the
// fence each owner holds (the highest leader token that wrote for it).
type Zone struct {
	Sets   []recordplan.Existing
	Fences map[string]int64
}

// ReadZone reads the zone by AXFR.
func (p *Provider) ReadZone(ctx context.Context) (Zone, error) {
	m := new(dns.Msg)
	m.SetAxfr(p.cfg.Zone)
	p.sign(m)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", p.cfg.Server)
	if err != nil {
		return Zone{}, fmt.Errorf("axfr %s: %w", p.cfg.Zone, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: conn}, TsigSecret: p.secrets()}
	envs, err := tr.In(m, p.cfg.Server)
	if err != nil {
		return Zone{}, fmt.Errorf("axfr %s: %w", p.cfg.Zone, err)
	}
	var rrs []dns.RR
	for env := range envs {
		if env.Error != nil {
			return Zone{}, fmt.Errorf("axfr %s: %w", p.cfg.Zone, env.Error)
		}
		rrs = append(rrs, env.RR...)
	}
	return Zone{Sets: existing(rrs), Fences: fences(rrs, p.cfg.Zone)}, nil
}

// existing groups transferred records into record sets and attaches owners.
func existing(rrs []dns.RR) []recordplan.Existing {
	sets := map[string]*recordplan.Existing{}
	owners := map[string]string{}
	var keys []string
	for _, rr := range rrs {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		var value string
		switch v := rr.(type) {
		case *dns.A:
			value = v.A.String()
		case *dns.AAAA:
			value = v.AAAA.String()
		case *dns.CNAME:
			value = strings.ToLower(v.Target)
		case *dns.TXT:
			if n, t, owner, ok := recordplan.ParseOwner(name, v.Txt); ok {
				owners[n+" "+t] = owner
			}
			continue
		default:
			continue
		}
		typ := dns.TypeToString[h.Rrtype]
		k := name + " " + typ
		s := sets[k]
		if s == nil {
			s = &recordplan.Existing{Record: recordplan.Record{Name: name, Type: typ, TTL: h.Ttl}}
			sets[k] = s
			keys = append(keys, k)
		}
		s.Targets = append(s.Targets, value)
	}
	sort.Strings(keys)
	out := make([]recordplan.Existing, 0, len(keys))
	for _, k := range keys {
		s := sets[k]
		sort.Strings(s.Targets)
		s.Owner = owners[k]
		out = append(out, *s)
	}
	return out
}

// Apply carries out plan's changes, one signed update per record set. Creating needs
// the set and its ownership record absent; updating and deleting need our ownership
// record present. It stops at the first refused update.
func (p *Provider) Apply(ctx context.Context, plan recordplan.Plan) error {
	return p.apply(ctx, plan, nil)
}

// ApplyFenced is Apply for a leader holding token mine, where held is the owner's
// fence the plan was made from (zero when the zone has none). A plan from a lower
// token than held is refused before anything is sent (recordplan.ErrStale); every
// update also requires the fence record to still say held and raises it to mine, in
// the same message, so that a deposed leader's update racing a newer one's is refused
// by the server. With no changes the fence alone is raised.
func (p *Provider) ApplyFenced(ctx context.Context, plan recordplan.Plan, held, mine int64) error {
	if held > mine {
		return fmt.Errorf("owner %s in zone %s: fence %d, this leader's token %d: %w", plan.Owner, p.cfg.Zone, held, mine, recordplan.ErrStale)
	}
	f := &fence{name: recordplan.FenceName(plan.Owner, p.cfg.Zone), held: held, mine: mine}
	if len(plan.Changes) == 0 && held != mine {
		m := new(dns.Msg)
		m.SetUpdate(p.cfg.Zone)
		f.guard(m)
		if err := p.exchange(ctx, m); err != nil {
			return fmt.Errorf("fence %s to %d: %w", f.name, mine, err)
		}
		return nil
	}
	return p.apply(ctx, plan, f)
}

// fence is the owner's fence record while a plan is applied.
type fence struct {
	name       string
	held, mine int64
}

// guard adds to m the prerequisite that the fence still says held and the update that
// makes it say mine.
func (f *fence) guard(m *dns.Msg) {
	rr := func(v int64) dns.RR {
		return &dns.TXT{Hdr: dns.RR_Header{Name: f.name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
			Txt: []string{recordplan.FenceText(v)}}
	}
	if f.held == 0 {
		m.RRsetNotUsed([]dns.RR{anyOf(f.name, "TXT")})
	} else {
		m.Used([]dns.RR{rr(f.held)})
	}
	if f.held != f.mine {
		m.RemoveRRset([]dns.RR{anyOf(f.name, "TXT")})
		m.Insert([]dns.RR{rr(f.mine)})
	}
}

func (p *Provider) apply(ctx context.Context, plan recordplan.Plan, f *fence) error {
	for _, c := range plan.Changes {
		m := new(dns.Msg)
		m.SetUpdate(p.cfg.Zone)
		if f != nil {
			f.guard(m)
		}
		owner := ownerRR(c.Record, plan.Owner)
		switch c.Action {
		case recordplan.Create:
			rrs, err := toRRs(c.Record)
			if err != nil {
				return err
			}
			m.RRsetNotUsed([]dns.RR{anyOf(c.Record.Name, c.Record.Type), anyOf(owner.Header().Name, "TXT")})
			m.Insert(append(rrs, owner))
		case recordplan.Update:
			rrs, err := toRRs(c.Record)
			if err != nil {
				return err
			}
			m.Used([]dns.RR{owner})
			m.RemoveRRset([]dns.RR{anyOf(c.Record.Name, c.Record.Type)})
			m.Insert(rrs)
		case recordplan.Delete:
			// Used and Remove rewrite their records' headers: each gets its own copy.
			m.Used([]dns.RR{owner})
			m.RemoveRRset([]dns.RR{anyOf(c.Record.Name, c.Record.Type)})
			m.Remove([]dns.RR{dns.Copy(owner)})
		}
		if err := p.exchange(ctx, m); err != nil {
			return fmt.Errorf("%s %s %s: %w", c.Action, c.Record.Name, c.Record.Type, err)
		}
		if f != nil {
			f.held = f.mine
		}
	}
	return nil
}

// fences reads the owners' fence records of a transfer.
func fences(rrs []dns.RR, zone string) map[string]int64 {
	out := map[string]int64{}
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			if owner, v, ok := recordplan.ParseFence(t.Hdr.Name, zone, t.Txt); ok && v > out[owner] {
				out[owner] = v
			}
		}
	}
	return out
}

func (p *Provider) exchange(ctx context.Context, m *dns.Msg) error {
	p.sign(m)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	c := &dns.Client{Net: "tcp", TsigSecret: p.secrets()}
	r, _, err := c.ExchangeContext(ctx, m, p.cfg.Server)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return &RcodeError{Rcode: r.Rcode}
	}
	return nil
}

func ownerRR(r recordplan.Record, owner string) dns.RR {
	return &dns.TXT{Hdr: dns.RR_Header{Name: recordplan.OwnerName(r), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: r.TTL},
		Txt: []string{recordplan.OwnerText(owner)}}
}

func toRRs(r recordplan.Record) ([]dns.RR, error) {
	out := make([]dns.RR, 0, len(r.Targets))
	for _, t := range r.Targets {
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", r.Name, r.TTL, r.Type, t))
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r, err)
		}
		out = append(out, rr)
	}
	return out, nil
}

// anyOf is an RRset reference for prerequisites and removals.
func anyOf(name, typ string) dns.RR {
	return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: dns.StringToType[typ], Class: dns.ClassANY}}
}
