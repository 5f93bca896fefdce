package daemon

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/readiness"
)

// Status is what GET /v1/status answers: this daemon's view of the fleet.
func (d *Daemon) Status(ctx context.Context) api.Status {
	st := api.Status{Daemon: d.opts.Site, Time: time.Now().UTC()}
	q := d.quorum.State()
	st.Etcd = api.Etcd{Quorum: q.OK, SelfFenced: d.fence.Fenced(), LastQuorum: q.LastOK, Error: q.LastErr, External: d.member == nil}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if q.OK {
		st.Etcd.Members = d.members(ctx)
		if tok, err := coord.Leader(ctx, d.client); err == nil && !tok.IsZero() {
			st.Leader, st.LeaderToken = tok.Holder, tok.Rev
		}
	}
	if q.OK && len(d.opts.Fleet.DNSProviders) > 0 {
		st.DNSProviders = readDNSProviders(ctx, d.client)
	}
	if leaf := d.cert.Leaf(); leaf != nil {
		st.Certificate = &api.Certificate{Subject: leaf.Subject.CommonName, Serial: leaf.SerialNumber.Text(16), NotAfter: leaf.NotAfter.UTC()}
	}
	if d.opts.FleetProblem != nil {
		st.FleetInvalid = d.opts.FleetProblem()
	}
	st.FencedData = d.data.selfFenced()
	st.CannotAct = d.data.reachAll()
	answered, _ := d.fence.Current(ctx)
	var ready map[string]api.Readiness
	if q.OK {
		ready, _ = readiness.Load(ctx, d.client) // without it the status still says the rest
	}
	shared, _ := d.store.Current(ctx)
	for _, a := range d.opts.Fleet.Applications {
		as := api.App{Name: a.Name, Active: a.Spec.Policy.ActiveSite, Verdicts: map[string]string{},
			Observations: d.obs.forStatus(a.Name)}
		if s := shared.Apps[a.Name]; s.Active != "" {
			as.Active = s.Active
		}
		for _, site := range probe.AppSites(a) {
			v := shared.Apps[a.Name].Health[site]
			if v == "" {
				v = probe.Unknown
			}
			as.Verdicts[site] = string(v)
		}
		if a.Spec.DNS != nil {
			as.Strategy = string(a.Spec.DNS.Strategy)
		}
		as.Standby = string(a.Spec.Policy.Standby)
		if a.Spec.Data != nil {
			if ds, ok := d.data.set(a.Spec.Data.MirrorSet); ok {
				as.Data = &ds
			}
		}
		if q.OK {
			as.Run = d.runs.openRun(ctx, a.Name)
		}
		if r, ok := ready[a.Name]; ok {
			as.Readiness = &r
		}
		as.AutoFailoverHeld = d.auto.heldFor(a.Name)
		as.NoAutoFailover = d.auto.notNowFor(a.Name)
		for _, ca := range d.catalog.Apps {
			if ca.Name == a.Name {
				as.DNS = &api.DNS{Name: strings.TrimSuffix(ca.Main, "."), Answers: d.answers(&answered, ca), Version: answered.Version}
			}
		}
		st.Apps = append(st.Apps, as)
	}
	return st
}

// members lists the etcd members and marks the raft leader.
func (d *Daemon) members(ctx context.Context) []api.Member {
	resp, err := d.client.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return nil
	}
	var leader uint64
	if d.member != nil {
		if s, err := d.client.Status(ctx, d.member.Endpoints()[0]); err == nil {
			leader = s.Leader
		}
	}
	out := make([]api.Member, 0, len(resp.Members))
	for _, m := range resp.Members {
		out = append(out, api.Member{Name: m.Name, PeerURL: m.PeerURLs, Leader: m.ID == leader})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// answers is what the name server answers for the main name (A, else the CNAME).
func (d *Daemon) answers(st *gslb.State, a *gslb.App) []string {
	r := d.catalog.Answer(st, gslb.Query{Name: mainName(a), Type: dns.TypeA})
	out := []string{}
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		}
	}
	return out
}
