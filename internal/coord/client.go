package coord

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ClientOptions say how to reach an etcd cluster.
type ClientOptions struct {
	Endpoints []string
	// TLS is nil for a plain-text cluster.
	TLS *tls.Config
}

// ClientTLS is the client TLS configuration of site's daemon towards etcd members (or
// of the operator, with OperatorName). The certificate is read again from its files
// when they change, so connections made after a rotation present the new one.
func (p PKI) ClientTLS(site string) (*tls.Config, error) {
	pair, err := p.Pair(site)
	if err != nil {
		return nil, fmt.Errorf("etcd client tls: %w", err)
	}
	pool, err := p.CertPool()
	if err != nil {
		return nil, fmt.Errorf("etcd client tls: %w", err)
	}
	return &tls.Config{RootCAs: pool, GetClientCertificate: pair.GetClientCertificate, MinVersion: tls.VersionTLS12}, nil
}

// NewClient connects to etcd. It does not wait for the cluster to be ready: calls fail
// with their context's deadline until it is.
func NewClient(o ClientOptions) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		TLS:         o.TLS,
		DialTimeout: 2 * time.Second,
		// Keepalives notice a dead member quickly so that the client's calls fail fast
		// instead of hanging on a silent connection.
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client %v: %w", o.Endpoints, err)
	}
	return c, nil
}

// WaitReady waits until the cluster answers a linearizable read or ctx ends.
func WaitReady(ctx context.Context, c *clientv3.Client) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Get(rctx, QuorumKey)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for etcd: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
