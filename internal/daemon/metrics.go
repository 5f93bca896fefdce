package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// metrics are computed from the daemon's state at every scrape, so they never disagree
// with /v1/status. Each daemon has its own registry: several can run in one process.
type metrics struct {
	d   *Daemon
	reg *prometheus.Registry

	verdict, observed, quorum, fenced, leader, dnsQueries   *prometheus.Desc
	lagBytes, lagSeconds                                    *prometheus.Desc
	promiseHolding, promiseInForce                          *prometheus.Desc
	certExpiry                                              *prometheus.Desc
	archiveLag, archiveWaiting, archiveWaited, archivedAt   *prometheus.Desc
	probes, etcdKeys, etcdBytes, etcdRevision, fleetInvalid *prometheus.Desc

	// Runbooks are measured as this daemon executes them (a run resumed by another
	// leader is counted there for the steps it ran).
	stepSeconds *prometheus.HistogramVec
	rtoSeconds  *prometheus.HistogramVec
	runs        *prometheus.CounterVec
}

func newMetrics(d *Daemon) *metrics {
	m := &metrics{d: d, reg: prometheus.NewRegistry(),
		verdict: prometheus.NewDesc("hadron_site_verdict",
			"Quorum verdict of a site for an application as answered: 1 up, 0 down, -1 unknown.", []string{"app", "site"}, nil),
		observed: prometheus.NewDesc("hadron_site_observed_up",
			"Whether an observer's latest probe of a site passed (1) or failed (0).", []string{"app", "site", "observer"}, nil),
		quorum: prometheus.NewDesc("hadron_etcd_quorum",
			"Whether this daemon reaches a majority of the etcd cluster.", nil, nil),
		fenced: prometheus.NewDesc("hadron_self_fenced",
			"Whether this daemon has fenced its own site out of the DNS answers.", nil, nil),
		leader: prometheus.NewDesc("hadron_leader_token",
			"The fencing token of this daemon's leadership; 0 when it does not lead.", nil, nil),
		dnsQueries: prometheus.NewDesc("hadron_dns_queries_total",
			"DNS queries received by this daemon's name server.", nil, nil),
		lagBytes: prometheus.NewDesc("hadron_data_lag_bytes",
			"WAL a mirror set member has not replayed yet, as this daemon last observed it.", []string{"set", "member", "site"}, nil),
		lagSeconds: prometheus.NewDesc("hadron_data_lag_seconds",
			"Age of a member's newest replayed transaction while it lags.", []string{"set", "member", "site"}, nil),
		promiseHolding: prometheus.NewDesc("hadron_data_promise_holding",
			"Whether a mirror set's commits wait for its data-loss mode now (bounded: the DR member behind the bound or no keeper; synchronous: the DR member not streaming).", []string{"set", "mode"}, nil),
		promiseInForce: prometheus.NewDesc("hadron_data_promise_in_force",
			"Whether a mirror set's primary keeps its data-loss mode's cross-region requirement (0 when released or waiting to be put back).", []string{"set", "mode"}, nil),
		certExpiry: prometheus.NewDesc("hadron_cert_expiry_seconds",
			"When the certificate this daemon serves expires, in Unix seconds (alert on hadron_cert_expiry_seconds - time() < 30 days; rotate with hadron pki rotate).",
			[]string{"site"}, nil),
		probes: prometheus.NewDesc("hadron_probes_total",
			"Health checks this daemon ran as an observer (one per application, site and interval; each is written to etcd).", nil, nil),
		etcdKeys: prometheus.NewDesc("hadron_etcd_keys",
			"Keys in the etcd cluster, as this daemon's client counts them at the scrape.", nil, nil),
		etcdBytes: prometheus.NewDesc("hadron_etcd_db_bytes",
			"Size of the etcd database of the member this daemon's client asks first.", nil, nil),
		fleetInvalid: prometheus.NewDesc("hadron_fleet_invalid",
			"Whether the fleet in this daemon's cluster is refused by the fleet's rules (1; the daemon runs the last valid one) or valid (0); absent for a fleet from a file.", nil, nil),
		etcdRevision: prometheus.NewDesc("hadron_etcd_revision",
			"The etcd cluster's revision: its growth is the rate of writes (observations, state, runs).", nil, nil),
	}
	// The archive's metrics are labelled set, as hadron_data_* are, so the two join;
	// one series per set whichever member is primary, so a failover does not start a new one.
	m.archiveLag = prometheus.NewDesc("hadron_backup_archive_lag_bytes",
		"WAL a mirror set's primary wrote that is not in the backup archive yet.", []string{"set"}, nil)
	m.archiveWaiting = prometheus.NewDesc("hadron_backup_archive_waiting_segments",
		"Finished WAL files of a mirror set's primary queued for archive_command.", []string{"set"}, nil)
	m.archiveWaited = prometheus.NewDesc("hadron_backup_archive_waiting_seconds",
		"How long the oldest queued WAL file has waited for archive_command (spec.backup.archiveLagBound limits it; 0 with none queued).", []string{"set"}, nil)
	m.archivedAt = prometheus.NewDesc("hadron_backup_last_archived_timestamp_seconds",
		"When the newest WAL file reached the archive, in Unix seconds (its age: time() - this).", []string{"set"}, nil)
	buckets := []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120}
	m.stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hadron_runbook_step_seconds",
		Help: "How long each runbook step took, by kind of run and step.", Buckets: buckets}, []string{"kind", "step"})
	m.rtoSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hadron_runbook_rto_seconds",
		Help: "Decision → verified of each finished run (system=true: first failed probe → verified).", Buckets: buckets},
		[]string{"app", "kind", "system"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hadron_runbook_runs_total",
		Help: "Runs this daemon executed to an end, by outcome."}, []string{"app", "kind", "status"})
	m.reg.MustRegister(m, collectors.NewGoCollector(), m.stepSeconds, m.rtoSeconds, m.runs)
	return m
}

// observeRun records a run this daemon executed, once it stopped.
func (m *metrics) observeRun(r *runbook.Record) {
	kind := string(r.Kind)
	for _, s := range r.Steps {
		if s.Started != nil && s.Ended != nil && s.Error == "" {
			m.stepSeconds.WithLabelValues(kind, s.Name).Observe(s.Ended.Sub(*s.Started).Seconds())
		}
	}
	if r.Verified != nil {
		m.rtoSeconds.WithLabelValues(r.App, kind, "false").Observe(time.Duration(r.RTO).Seconds())
		if r.FirstFailedProbe != nil {
			m.rtoSeconds.WithLabelValues(r.App, kind, "true").Observe(time.Duration(r.SystemRTO).Seconds())
		}
	}
	m.runs.WithLabelValues(r.App, kind, string(r.Status)).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.verdict, m.observed, m.quorum, m.fenced, m.leader, m.dnsQueries, m.lagBytes, m.lagSeconds, m.promiseHolding, m.promiseInForce, m.certExpiry,
		m.archiveLag, m.archiveWaiting, m.archiveWaited, m.archivedAt, m.probes, m.etcdKeys, m.etcdBytes, m.etcdRevision, m.fleetInvalid} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	d := m.d
	if d.opts.FleetProblem != nil {
		ch <- prometheus.MustNewConstMetric(m.fleetInvalid, prometheus.GaugeValue, b2f(d.opts.FleetProblem() != ""))
	}
	st, _ := d.fence.Current(context.Background())
	for _, a := range d.opts.Fleet.Applications {
		for _, site := range probe.AppSites(a) {
			v := -1.0
			switch st.Apps[a.Name].Health[site] {
			case probe.Up:
				v = 1
			case probe.Down:
				v = 0
			}
			ch <- prometheus.MustNewConstMetric(m.verdict, prometheus.GaugeValue, v, a.Name, site)
		}
	}
	d.obs.each(func(ob probe.Observation) {
		ch <- prometheus.MustNewConstMetric(m.observed, prometheus.GaugeValue, b2f(ob.OK), ob.App, ob.Site, ob.Observer)
	})
	tok := d.runs.token()
	d.data.eachSet(func(ds api.DataSet) {
		for _, mem := range ds.Members {
			if mem.State == "unreachable" {
				continue
			}
			ch <- prometheus.MustNewConstMetric(m.lagBytes, prometheus.GaugeValue, float64(mem.LagBytes), ds.Name, mem.Name, mem.Site)
			ch <- prometheus.MustNewConstMetric(m.lagSeconds, prometheus.GaugeValue, mem.LagSeconds, ds.Name, mem.Name, mem.Site)
		}
		if a := ds.Archive; a != nil && a.Error == "" {
			ch <- prometheus.MustNewConstMetric(m.archiveLag, prometheus.GaugeValue, float64(a.LagBytes), ds.Name)
			ch <- prometheus.MustNewConstMetric(m.archiveWaiting, prometheus.GaugeValue, float64(a.WaitingSegments), ds.Name)
			ch <- prometheus.MustNewConstMetric(m.archiveWaited, prometheus.GaugeValue, a.WaitingSeconds, ds.Name)
			if !a.LastArchivedAt.IsZero() {
				ch <- prometheus.MustNewConstMetric(m.archivedAt, prometheus.GaugeValue, float64(a.LastArchivedAt.UnixNano())/1e9, ds.Name)
			}
		}
		if p := ds.Promise; p != nil && p.Mode != "async" {
			ch <- prometheus.MustNewConstMetric(m.promiseHolding, prometheus.GaugeValue, b2f(p.Holding), ds.Name, p.Mode)
			ch <- prometheus.MustNewConstMetric(m.promiseInForce, prometheus.GaugeValue, b2f(p.InForce), ds.Name, p.Mode)
		}
	})
	q := d.quorum.State()
	ch <- prometheus.MustNewConstMetric(m.quorum, prometheus.GaugeValue, b2f(q.OK))
	ch <- prometheus.MustNewConstMetric(m.fenced, prometheus.GaugeValue, b2f(d.fence.Fenced()))
	ch <- prometheus.MustNewConstMetric(m.leader, prometheus.GaugeValue, float64(tok.Rev))
	if leaf := d.cert.Leaf(); leaf != nil {
		ch <- prometheus.MustNewConstMetric(m.certExpiry, prometheus.GaugeValue, float64(leaf.NotAfter.Unix()), d.opts.Site)
	}
	ch <- prometheus.MustNewConstMetric(m.probes, prometheus.CounterValue, float64(d.probes.Load()))
	m.collectEtcd(ch)
	if d.dns != nil {
		ch <- prometheus.MustNewConstMetric(m.dnsQueries, prometheus.CounterValue, float64(d.dns.Queries()))
	}
}

// collectEtcd asks etcd for its size at the scrape, bounded by a short timeout: a
// daemon without a majority leaves the three out rather than stall the scrape.
func (m *metrics) collectEtcd(ch chan<- prometheus.Metric) {
	c := m.d.client
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if resp, err := c.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithCountOnly()); err == nil {
		ch <- prometheus.MustNewConstMetric(m.etcdKeys, prometheus.GaugeValue, float64(resp.Count))
		ch <- prometheus.MustNewConstMetric(m.etcdRevision, prometheus.GaugeValue, float64(resp.Header.Revision))
	}
	if eps := c.Endpoints(); len(eps) > 0 {
		if st, err := c.Status(ctx, eps[0]); err == nil {
			ch <- prometheus.MustNewConstMetric(m.etcdBytes, prometheus.GaugeValue, float64(st.DbSize))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
