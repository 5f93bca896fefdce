package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/pgserver"
)

// TLS is how a mirror set's connections are encrypted: the mode every client uses,
// the CA they verify members against, and the server certificates of the members
// hadron runs.
type TLS struct {
	Mode v1alpha1.TLSMode
	// CA is the PEM certificate(s) clients trust; required for verify-ca and
	// verify-full.
	CA []byte
	// ServerCert returns a member's certificate and key (PEM). It is called only when
	// hadron starts a member it runs, so a process reads only the keys of the members
	// it starts; nil when hadron starts none.
	ServerCert func(ctx context.Context, member string) (cert, key []byte, err error)
}

// ErrNoServerCert: a member hadron runs has no certificate although TLS is on.
var ErrNoServerCert = errors.New("no server certificate")

func (t *TLS) mode() v1alpha1.TLSMode {
	if t == nil || t.Mode == "" {
		return v1alpha1.TLSDisable
	}
	return t.Mode
}

// on says whether connections use TLS at all.
func (t *TLS) on() bool { return t.mode() != v1alpha1.TLSDisable }

// verifies says whether clients check members' certificates against the CA.
func (t *TLS) verifies() bool {
	m := t.mode()
	return m == v1alpha1.TLSVerifyFull || m == v1alpha1.TLSVerifyCA
}

// check is New's validation of t.
func (t *TLS) check() (*x509.CertPool, error) {
	switch t.mode() {
	case v1alpha1.TLSDisable, v1alpha1.TLSRequire, v1alpha1.TLSVerifyCA, v1alpha1.TLSVerifyFull:
	default:
		return nil, fmt.Errorf("tls mode %q is not one of verify-full, verify-ca, require, disable", t.mode())
	}
	if !t.verifies() {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(t.CA) {
		return nil, fmt.Errorf("tls mode %s: the CA holds no PEM certificate", t.mode())
	}
	return pool, nil
}

// clientTLS is the TLS configuration of hadron's own session to host in mode, with
// libpq's meaning of each mode: verify-full checks the chain and that host is one of
// the certificate's names, verify-ca the chain only, require nothing; disable is nil.
func clientTLS(mode v1alpha1.TLSMode, roots *x509.CertPool, host string) *tls.Config {
	switch mode {
	case v1alpha1.TLSVerifyFull:
		return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: host}
	case v1alpha1.TLSVerifyCA:
		return &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // the chain is checked below, without the name
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				return verifyChain(raw, roots)
			},
		}
	case v1alpha1.TLSRequire:
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	}
	return nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}

// sslParams are the conninfo keywords of a libpq client (the WAL receiver,
// pg_basebackup, pg_rewind) running beside the data directory dataDir: its mode, and
// the CA written beside that directory (installTLS) when it verifies.
func (d *Driver) sslParams(dataDir string) []string {
	out := []string{"sslmode=" + string(d.cfg.TLS.mode())}
	if d.cfg.TLS.verifies() {
		out = append(out, "sslrootcert="+quoteConn(filepath.Join(pgserver.TLSDir(absDir(dataDir)), pgserver.CAFile)))
	}
	return out
}

// installTLS writes the CA beside a local member's data directory, and with server
// its certificate and key too, before its server or one of its tools runs.
func (d *Driver) installTLS(ctx context.Context, m v1alpha1.Member, dataDir string, server bool) error {
	if !d.cfg.TLS.on() {
		return nil
	}
	files := pgserver.TLSFiles{CA: d.cfg.TLS.CA}
	if server {
		if d.cfg.TLS.ServerCert == nil {
			return fmt.Errorf("%s: %w (tls mode %s)", m.Name, ErrNoServerCert, d.cfg.TLS.mode())
		}
		cert, key, err := d.cfg.TLS.ServerCert(ctx, m.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if len(cert) == 0 || len(key) == 0 {
			return fmt.Errorf("%s: %w (tls mode %s)", m.Name, ErrNoServerCert, d.cfg.TLS.mode())
		}
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			return fmt.Errorf("%s: server certificate: %w", m.Name, err)
		}
		files.Cert, files.Key = cert, key
	}
	return pgserver.WriteTLS(dataDir, files)
}

// absDir makes a data directory absolute: a path in primary_conninfo is read by the
// WAL receiver, whose working directory is the data directory itself.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}
