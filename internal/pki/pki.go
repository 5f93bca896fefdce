// Package pki is a small certificate authority for development and lab use: an ECDSA
// CA kept as ca.crt/ca.key in a directory, and leaf certificates it issues. The lab's
// control planes and hadron's daemons both use it; a production fleet brings its own
// files in the same layout.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"hadron.dev/hadron/internal/atomicfile"
)

// File names of the CA inside its directory.
const (
	CACert = "ca.crt"
	CAKey  = "ca.key"
)

// Validity of the CA: long enough for any lab. Leaf certificates live LeafValidity
// unless a Request says otherwise, and are reissued with the same CA before they expire
// (`hadron pki rotate`); a new CA means restarting every daemon.
const Validity = 5 * 365 * 24 * time.Hour

// LeafValidity is the default validity of a leaf certificate.
const LeafValidity = 365 * 24 * time.Hour

// ErrNoCAKey says a CA certificate exists without its key, so nothing can be issued
// (a CA brought from elsewhere is never replaced).
var ErrNoCAKey = errors.New("CA certificate without its key")

// Authority is a CA that signs leaf certificates.
type Authority struct {
	Cert    *x509.Certificate
	key     crypto.Signer
	CertPEM []byte
}

// LoadOrCreate loads dir/ca.crt and dir/ca.key, creating them (with subject) when
// both are absent. Several processes may start at once with the same dir: the key is
// published with a hard link, which fails when another got there first, and then that
// process's CA is loaded.
func LoadOrCreate(dir string, subject pkix.Name) (*Authority, error) {
	crtPath, keyPath := filepath.Join(dir, CACert), filepath.Join(dir, CAKey)
	_, keyErr := os.Stat(keyPath)
	if errors.Is(keyErr, os.ErrNotExist) {
		if _, err := os.Stat(crtPath); err == nil {
			// Another process may have linked both files since the first look (the key
			// first): only a certificate whose key is still missing now is an error.
			if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s has %s but no %s: %w", dir, CACert, CAKey, ErrNoCAKey)
			}
		} else if err := create(dir, crtPath, keyPath, subject); err != nil {
			return nil, err
		}
	}
	// The certificate appears a moment after the key when another process creates it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := load(crtPath, keyPath)
		if err == nil || time.Now().After(deadline) {
			return a, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func create(dir, crtPath, keyPath string, subject pkix.Name) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               subject,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create CA cert: %w", err)
	}
	tmpKey, err := tempFile(dir, CAKey)
	if err != nil {
		return err
	}
	defer os.Remove(tmpKey)
	tmpCrt, err := tempFile(dir, CACert)
	if err != nil {
		return err
	}
	defer os.Remove(tmpCrt)
	if err := WriteKey(tmpKey, key); err != nil {
		return err
	}
	if err := os.WriteFile(tmpCrt, PEM("CERTIFICATE", der), 0o644); err != nil {
		return fmt.Errorf("write CA cert: %w", err)
	}
	if err := os.Link(tmpKey, keyPath); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil // another process created the CA first
		}
		return fmt.Errorf("publish CA key: %w", err)
	}
	if err := os.Rename(tmpCrt, crtPath); err != nil {
		return fmt.Errorf("publish CA cert: %w", err)
	}
	return nil
}

// Load loads the CA of dir without ever creating one: the tools that only issue
// (rotation) must fail on a wrong directory, not start a new CA there.
func Load(dir string) (*Authority, error) {
	a, err := load(filepath.Join(dir, CACert), filepath.Join(dir, CAKey))
	if errors.Is(err, os.ErrNotExist) {
		if _, cerr := os.Stat(filepath.Join(dir, CACert)); cerr == nil {
			return nil, fmt.Errorf("%s has %s but no %s: %w", dir, CACert, CAKey, ErrNoCAKey)
		}
	}
	return a, err
}

func load(crtPath, keyPath string) (*Authority, error) {
	crtPEM, err := os.ReadFile(crtPath)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	block, _ := pem.Decode(crtPEM)
	if block == nil {
		return nil, fmt.Errorf("load CA: %s holds no PEM certificate", crtPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	key, err := ReadKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	return &Authority{Cert: cert, key: key, CertPEM: crtPEM}, nil
}

// Request says what a leaf certificate is for.
type Request struct {
	CommonName string
	Orgs       []string
	// Hosts are DNS names or IP addresses, sorted into the right SAN fields.
	Hosts []string
	// IPsAsNames writes every IP address of Hosts as a DNS name too, for clients that
	// match the host they dialled against DNS names only: pgBackRest 2.45's S3 client
	// (the lab's object store is dialled at loopback addresses).
	IPsAsNames bool
	Server     bool
	Client     bool
	// Validity is how long the certificate lives (default LeafValidity).
	Validity time.Duration
}

// Issue writes base.crt and base.key signed by the CA, unless both exist already and
// the certificate was signed by this CA (a restarted process keeps its certificates).
func (a *Authority) Issue(base string, req Request) error {
	crtPath, keyPath := base+".crt", base+".key"
	if a.SignedByMe(crtPath) {
		if _, err := os.Stat(keyPath); err == nil {
			return nil
		}
	}
	return a.Reissue(base, req)
}

// Reissue writes a new key and certificate at base.key and base.crt whatever is there:
// rotation. The key is written first and each file is replaced by a rename, so a reader
// sees whole files; one that reads between the two renames sees a key that does not
// match the certificate, which Pair (the reloading reader) rejects and retries.
func (a *Authority) Reissue(base string, req Request) error {
	crtPath, keyPath := base+".crt", base+".key"
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return fmt.Errorf("issue %s: %w", req.CommonName, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("issue %s: %w", req.CommonName, err)
	}
	validity := req.Validity
	if validity <= 0 {
		validity = LeafValidity
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: req.CommonName, Organization: req.Orgs},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	for _, h := range req.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			if req.IPsAsNames {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if req.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if req.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, &key.PublicKey, a.key)
	if err != nil {
		return fmt.Errorf("issue %s: %w", req.CommonName, err)
	}
	// Key first: a reader that finds the certificate also finds its key.
	if err := WriteKey(keyPath, key); err != nil {
		return err
	}
	if err := atomicfile.Write(crtPath, PEM("CERTIFICATE", der), 0o644); err != nil {
		return fmt.Errorf("issue %s: %w", req.CommonName, err)
	}
	return nil
}

// SignedByMe reports whether the certificate at crtPath was signed by this CA.
func (a *Authority) SignedByMe(crtPath string) bool {
	data, err := os.ReadFile(crtPath)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err == nil && cert.CheckSignatureFrom(a.Cert) == nil
}

// WriteKey writes an EC private key readable by its owner only.
func WriteKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := atomicfile.Write(path, PEM("EC PRIVATE KEY", der), 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

// ReadKey reads an EC private key.
func ReadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", path)
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

// PEM encodes one block.
func PEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// tempFile names a new empty file beside the final one, unique across processes and
// goroutines.
func tempFile(dir, name string) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("temporary file for %s: %w", name, err)
	}
	f.Close()
	return f.Name(), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n.Add(n, big.NewInt(1))
}
