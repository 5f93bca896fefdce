package coord

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pki"
)

// PKI is a development certificate authority and one certificate per daemon, kept in
// one directory: ca.crt, ca.key, <site>.crt, <site>.key and api-token. Each site's
// certificate serves etcd peers, etcd clients and the daemon API, and is also its client
// certificate towards the other members. A production fleet brings its own files in the
// same layout.
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
	return token, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
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

// ServerTLS is the TLS configuration of site's daemon API.
func (p PKI) ServerTLS(site string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.CertFile(site), p.KeyFile(site))
	if err != nil {
		return nil, fmt.Errorf("load certificate of %s: %w", site, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Init creates what is missing: the CA, a certificate for every daemon site of the
// fleet whose names cover all of the site's daemon addresses (as seen from every
// region), and the API token. Existing files are kept, so Init is safe to run at every
// start; a lock serialises daemons that start together from one directory.
func (p PKI) Init(f *fleet.Fleet) error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return fmt.Errorf("pki dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(p.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("pki lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("pki lock: %w", err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	var ca *pki.Authority
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil {
			continue
		}
		if exists(p.CertFile(s.Name)) && exists(p.KeyFile(s.Name)) {
			continue
		}
		if ca == nil {
			var err error
			if ca, err = pki.LoadOrCreate(p.Dir, pkix.Name{CommonName: "hadron development CA"}); err != nil {
				if errors.Is(err, pki.ErrNoCAKey) {
					// A CA brought without its key (a production PKI) is never replaced.
					return fmt.Errorf("%s has no %s: issue the missing certificates with your own CA: %w", p.Dir, caKey, ErrNoCAKey)
				}
				return err
			}
		}
		req := pki.Request{CommonName: s.Name, Orgs: []string{"hadron"}, Hosts: daemonHosts(s.Spec.Daemon), Server: true, Client: true}
		if err := ca.Issue(filepath.Join(p.Dir, s.Name), req); err != nil {
			return fmt.Errorf("certificate of %s: %w", s.Name, err)
		}
	}
	if !exists(p.TokenFile()) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("api token: %w", err)
		}
		if err := writeFile(p.TokenFile(), []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
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

// writeFile writes through a temporary file and a rename, so a reader never sees half
// a token.
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
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
