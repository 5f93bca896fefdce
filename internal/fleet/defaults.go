package fleet

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
)

// Defaults of fields a fleet file may leave out. They are applied after validation,
// so that messages speak of what the user wrote; docs/fleet.md lists the same values.
const (
	DefaultSiteRole    = v1alpha1.SiteRoleWorkload
	DefaultStandby     = v1alpha1.StandbyPilotLight
	DefaultTTL         = 10
	DefaultStrategy    = v1alpha1.StrategyFailover
	DefaultProbeType   = v1alpha1.ProbeTCP
	DefaultHTTPPath    = "/"
	DefaultInterval    = time.Second
	DefaultTimeout     = time.Second
	DefaultRise        = 2
	DefaultFall        = 3
	DefaultThreshold   = 10 * time.Second
	DefaultMinInterval = 10 * time.Minute
	DefaultSynchronous = true
	DefaultDataLoss    = v1alpha1.DataLossAsync
	DefaultCapacityAPI = "apps/v1"
)

// Limits of numeric fields, checked by validation.
const (
	MinTTL, MaxTTL           = 1, 3600
	MinInterval, MaxInterval = 100 * time.Millisecond, 10 * time.Minute
	MaxRiseFall              = 100
)

// ApplyDefaults fills every field the fleet left out with its default. It is
// idempotent; Load calls it after a successful validation.
func ApplyDefaults(f *Fleet) {
	for _, s := range f.Sites {
		if s.Spec.Role == "" {
			s.Spec.Role = DefaultSiteRole
		}
	}
	for _, a := range f.Applications {
		defaultApplication(a)
	}
	for _, p := range f.DNSProviders {
		defaultDNSProvider(p)
	}
	for _, m := range f.MirrorSets {
		spec := &m.Spec
		if spec.Replication == nil {
			spec.Replication = &v1alpha1.Replication{}
		}
		if spec.Replication.Synchronous == nil {
			sync := DefaultSynchronous
			spec.Replication.Synchronous = &sync
		}
		if c := spec.Credentials; c != nil && c.ReplicationUser == "" {
			c.ReplicationUser = v1alpha1.DefaultReplicationUser
		}
		if t := spec.TLS; t != nil && t.Mode == "" {
			t.Mode = t.EffectiveMode()
		}
	}
}

func defaultApplication(a *v1alpha1.Application) {
	p := &a.Spec.Policy
	if p.Standby == "" {
		p.Standby = DefaultStandby
	}
	if p.DataLoss == nil && a.Spec.Data != nil {
		p.DataLoss = &v1alpha1.DataLoss{Mode: DefaultDataLoss}
	}
	if af := p.AutomaticFailover; af != nil {
		if af.Threshold == nil {
			af.Threshold = &metav1.Duration{Duration: DefaultThreshold}
		}
		if af.MinInterval == nil {
			af.MinInterval = &metav1.Duration{Duration: DefaultMinInterval}
		}
	}
	for i := range p.Capacity {
		if p.Capacity[i].APIVersion == "" {
			p.Capacity[i].APIVersion = DefaultCapacityAPI
		}
	}
	if d := a.Spec.DNS; d != nil {
		if d.TTL == nil {
			ttl := int32(DefaultTTL)
			d.TTL = &ttl
		}
		if d.Strategy == "" {
			d.Strategy = DefaultStrategy
		}
	}
	if a.Spec.Health == nil {
		a.Spec.Health = &v1alpha1.Health{}
	}
	h := a.Spec.Health
	if h.Type == "" {
		h.Type = DefaultProbeType
	}
	if h.Path == "" && (h.Type == v1alpha1.ProbeHTTP || h.Type == v1alpha1.ProbeHTTPS) {
		h.Path = DefaultHTTPPath
	}
	if h.Interval == nil {
		h.Interval = &metav1.Duration{Duration: DefaultInterval}
	}
	if h.Timeout == nil {
		h.Timeout = &metav1.Duration{Duration: DefaultTimeout}
	}
	if h.Rise == 0 {
		h.Rise = DefaultRise
	}
	if h.Fall == 0 {
		h.Fall = DefaultFall
	}
}
