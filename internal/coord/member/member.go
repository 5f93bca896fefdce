package member

import (
	"hadron.dev/hadron/internal/coord"

	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// Options configure the embedded etcd member of a daemon.
type Options struct {
	Cluster Cluster
	// DataDir holds the member's data; it survives restarts.
	DataDir string
	PKI     coord.PKI
	// LogLevel is etcd's own log level (default error: etcd is chatty and hadron logs
	// what matters about the cluster itself).
	LogLevel string
	Log      *slog.Logger
}

// Embedded is a running etcd member.
type Embedded struct {
	etcd      *embed.Etcd
	opts      Options
	stopRelay context.CancelFunc
	relayDone chan struct{}
	stopCerts context.CancelFunc
	certsDone chan struct{}
	closing   *atomic.Bool
}

// Start starts the local etcd member. It returns once the listeners are up; the
// member serves clients when the cluster has a leader, which needs a majority of the
// fleet's daemons to be running.
func Start(o Options) (*Embedded, error) {
	c := o.Cluster
	cfg := embed.NewConfig()
	cfg.Name = c.Local.Name
	cfg.Dir = o.DataDir
	cfg.InitialCluster = c.InitialCluster()
	cfg.InitialClusterToken = "hadron"
	cfg.ClusterState = embed.ClusterStateFlagNew
	cfg.LogLevel = o.LogLevel
	if cfg.LogLevel == "" {
		cfg.LogLevel = "error"
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	closing := &atomic.Bool{}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newEtcdLogger(log, cfg.LogLevel, closing))
	urls := func(s string) ([]url.URL, error) {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("url %q: %w", s, err)
		}
		return []url.URL{*u}, nil
	}
	var err error
	if cfg.ListenPeerUrls, err = urls(c.ListenPeer); err != nil {
		return nil, err
	}
	if cfg.AdvertisePeerUrls, err = urls(c.Local.PeerURL); err != nil {
		return nil, err
	}
	if cfg.ListenClientUrls, err = urls(c.ListenClient); err != nil {
		return nil, err
	}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	pair, err := o.PKI.Pair(c.Local.Name)
	if err != nil {
		return nil, fmt.Errorf("etcd member %s: %w", c.Local.Name, err)
	}
	certs, err := newCertCopy(pair, o.DataDir, log)
	if err != nil {
		return nil, err
	}
	// One file holds both halves (see certCopy). The CA is read once: a new CA needs a
	// restart.
	tlsInfo := transport.TLSInfo{
		CertFile:       certs.path,
		KeyFile:        certs.path,
		TrustedCAFile:  o.PKI.CAFile(),
		ClientCertAuth: true,
	}
	cfg.PeerTLSInfo, cfg.ClientTLSInfo = tlsInfo, tlsInfo
	m := &Embedded{opts: o, closing: closing}
	cctx, cancelCerts := context.WithCancel(context.Background())
	m.stopCerts, m.certsDone = cancelCerts, make(chan struct{})
	go func() {
		defer close(m.certsDone)
		certs.run(cctx)
	}()
	if c.Relay != nil {
		relay, err := StartRelay(c.Relay, o.PKI, o.Log)
		if err != nil {
			m.Close()
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		m.stopRelay = cancel
		m.relayDone = make(chan struct{})
		go func() {
			defer close(m.relayDone)
			relay.Serve(ctx)
		}()
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("start etcd member %s: %w", c.Local.Name, err)
	}
	m.etcd = e
	if o.Log != nil {
		o.Log.Info("etcd member started", "name", c.Local.Name, "peer", c.ListenPeer, "client", c.ListenClient, "cluster", cfg.InitialCluster)
	}
	return m, nil
}

// Ready is closed when the member has joined a cluster with a leader.
func (m *Embedded) Ready() <-chan struct{} { return m.etcd.Server.ReadyNotify() }

// Err reports a fatal error of the member.
func (m *Embedded) Err() <-chan error { return m.etcd.Err() }

// LeadRaft makes this member the etcd cluster's raft leader, when it is not already
// and the cluster has a leader to hand over. The leader daemon calls it for its own
// member: every guarded write of a runbook then takes one round to a majority instead
// of first being forwarded to a leader in another region. A follower forwards the
// transfer request to the leader, so no client connection to the leader is needed.
func (m *Embedded) LeadRaft(ctx context.Context) (moved bool, err error) {
	s := m.etcd.Server
	self, lead := uint64(s.MemberID()), s.Lead()
	switch {
	case lead == self:
		return false, nil
	case lead == 0:
		return false, fmt.Errorf("move raft leader to %s: %w", m.opts.Cluster.Local.Name, coord.ErrNoRaftLeader)
	}
	if err := s.MoveLeader(ctx, lead, self); err != nil {
		return false, fmt.Errorf("move raft leader to %s: %w", m.opts.Cluster.Local.Name, err)
	}
	return true, nil
}

// Close stops the member and its relay.
func (m *Embedded) Close() {
	m.closing.Store(true)
	if m.etcd != nil {
		m.etcd.Close()
	}
	if m.stopRelay != nil {
		m.stopRelay()
		<-m.relayDone
	}
	if m.stopCerts != nil {
		m.stopCerts()
		<-m.certsDone
	}
}

// Endpoints are the member's client URLs.
func (m *Embedded) Endpoints() []string { return []string{m.opts.Cluster.ListenClient} }
