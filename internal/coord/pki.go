package coord

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/pki"
)

// PKI is a directory of certificates: the CA's, where `hadron serve --init-pki DIR`
// creates the CA and every bundle, or one bundle that a site or an operator received.
//
//	DIR/ca.crt, ca.key, api-token         the CA: stays on the machine that issues
//	DIR/sites/<site>/ca.crt, <site>.crt, <site>.key, api-token
//	                                      what site <site>'s daemon gets, never ca.key
//	DIR/client/ca.crt, client.crt, client.key, api-token
//	                                      the operator's CLI (and etcdctl)
//
// A site's certificate serves etcd peers, etcd clients and the daemon API, and is also
// its client certificate towards the other members. A production fleet brings its own
// files in the same layout.
type PKI struct{ Dir string }

// APICredentials are what a CLI needs to call the daemons' API: the bearer token
// (from tokenFile, else the PKI's api-token) and a TLS configuration that trusts the
// PKI's CA.
func (p PKI) APICredentials(tokenFile string) (token string, tlsCfg *tls.Config, err error) {
	if tokenFile == "" {
		tokenFile = p.TokenFile()
	}
	if token, err = p.TokenAt(tokenFile); err != nil {
		return "", nil, err
	}
	pool, err := p.CertPool()
	if err != nil {
		return "", nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	// The operator bundle's certificate is offered to servers that ask for one; the
	// API authenticates by the token.
	if exists(p.CertFile(OperatorName)) {
		pair, err := pki.LoadPair(p.CertFile(OperatorName), p.KeyFile(OperatorName))
		if err != nil {
			return "", nil, err
		}
		cfg.GetClientCertificate = pair.GetClientCertificate
	}
	return token, cfg, nil
}

// EnvPKI names the environment variable with the default PKI directory.
const EnvPKI = "HADRON_PKI"

// DefaultPKIDir is the PKI directory used without --pki: $HADRON_PKI, else hadron-pki.
func DefaultPKIDir() string {
	if d := os.Getenv(EnvPKI); d != "" {
		return d
	}
	return "hadron-pki"
}

// File names inside a PKI directory.
const (
	caCert    = pki.CACert
	caKey     = pki.CAKey
	tokenFile = "api-token"
)

// CAFile, CertFile, KeyFile and TokenFile are the paths of the PKI's files.
func (p PKI) CAFile() string              { return filepath.Join(p.Dir, caCert) }
func (p PKI) CertFile(site string) string { return filepath.Join(p.Dir, site+".crt") }
func (p PKI) KeyFile(site string) string  { return filepath.Join(p.Dir, site+".key") }
func (p PKI) TokenFile() string           { return filepath.Join(p.Dir, tokenFile) }

// Token reads the API bearer token.
func (p PKI) Token() (string, error) { return p.TokenAt(p.TokenFile()) }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// CertPool returns the CA as a pool for verifying peers.
func (p PKI) CertPool() (*x509.CertPool, error) {
	b, err := os.ReadFile(p.CAFile())
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", p.CAFile())
	}
	return pool, nil
}

// Pair is site's certificate, read again from its files when they change.
func (p PKI) Pair(site string) (*pki.Pair, error) {
	pair, err := pki.LoadPair(p.CertFile(site), p.KeyFile(site))
	if err != nil {
		return nil, fmt.Errorf("load certificate of %s: %w", site, err)
	}
	return pair, nil
}

// ServerTLS is the TLS configuration of a daemon API serving pair: every handshake
// gets the pair's newest certificate, so a rotation needs no restart.
func ServerTLS(pair *pki.Pair) *tls.Config {
	return &tls.Config{GetCertificate: pair.GetCertificate, MinVersion: tls.VersionTLS12}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// daemonHosts are every host a daemon is reached at: its API, peer and DNS addresses
// from every region, plus loopback for the local client.
func daemonHosts(d *v1alpha1.DaemonSpec) []string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	add := func(addr string) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if host != "" && !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	for _, e := range []*v1alpha1.Endpoint{&d.API, d.Peer, d.DNS} {
		if e == nil {
			continue
		}
		add(e.Address)
		for _, a := range e.FromRegions {
			add(a)
		}
	}
	return out
}

// TokenAt reads a bearer token from file instead of the PKI directory.
func (PKI) TokenAt(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read api token: %w", err)
	}
	t := string(trimSpace(b))
	if t == "" {
		return "", fmt.Errorf("api token %s is empty", file)
	}
	return t, nil
}
