package controlplane

import (
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// startEtcd runs the site's single etcd member inside this process, on plain HTTP bound
// to the site's loopback address (only the site's own API server talks to it).
func startEtcd(c Config, l layout) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	cfg.Dir = l.etcd()
	client := url.URL{Scheme: "http", Host: hostPort(c.IP, EtcdClientPort)}
	peer := url.URL{Scheme: "http", Host: hostPort(c.IP, EtcdPeerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = c.Name + "=" + peer.String()
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{l.logs("etcd")}
	// A lab etcd holds little and is thrown away: keep it small and fast.
	cfg.QuotaBackendBytes = 512 << 20
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("start etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("start etcd: not ready after 60s")
	}
}
