package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/recordplan"
)

// Answers asks server for name's A, AAAA and CNAME records, without recursion (an
// authoritative server), and returns the values sorted.
func Answers(ctx context.Context, server, name string) ([]string, error) {
	var out []string
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), t)
		m.RecursionDesired = false
		r, _, err := c.ExchangeContext(ctx, m, server)
		if err != nil {
			return nil, fmt.Errorf("ask %s for %s: %w", server, name, err)
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			return nil, fmt.Errorf("ask %s for %s: %s", server, name, dns.RcodeToString[r.Rcode])
		}
		for _, rr := range r.Answer {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, v.A.String())
			case *dns.AAAA:
				out = append(out, v.AAAA.String())
			case *dns.CNAME:
				if t == dns.TypeA {
					out = append(out, strings.ToLower(v.Target))
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// MainAnswer is what the main name of app must answer in state st at a provider's
// server: the values of its record sets that get traffic.
func MainAnswer(cat *gslb.Catalog, st *gslb.State, app string) (string, []string) {
	for _, a := range cat.Apps {
		if a.Name != app {
			continue
		}
		var out []string
		for _, r := range recordplan.AppRecords(cat, st, a) {
			if r.Name == a.Main {
				out = append(out, r.Targets...)
			}
		}
		sort.Strings(out)
		return a.Main, out
	}
	return "", nil
}

// Verify asks every server of p for app's main name and says whether each answers
// exactly want.
func Verify(ctx context.Context, p Provider, name string, want []string) (string, error) {
	var bad []string
	for _, s := range p.Servers() {
		got, err := Answers(ctx, s, name)
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case !slices.Equal(got, want):
			bad = append(bad, fmt.Sprintf("%s answers %s, want %s", s, list(got), list(want)))
		}
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("dns provider %s: %s", p.Name(), strings.Join(bad, "; "))
	}
	return fmt.Sprintf("%s answers %s at %d server(s) of %s", name, list(want), len(p.Servers()), p.Name()), nil
}

func list(v []string) string {
	if len(v) == 0 {
		return "nothing"
	}
	return strings.Join(v, ",")
}
