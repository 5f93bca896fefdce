package controlplane

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
)

// certValidity is long enough for any lab; the lab CA never rotates.
const certValidity = 5 * 365 * 24 * time.Hour

// authority is the lab CA that signs every site's certificates.
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// loadOrCreateCA loads dir/ca.crt and dir/ca.key, creating them when absent. Two sites
// may start at once with the same dir: the key is published with a hard link, which
// fails when another site got there first, and then that site's CA is loaded.
func loadOrCreateCA(dir string) (*authority, error) {
	crtPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		if err := createCA(dir, crtPath, keyPath); err != nil {
			return nil, err
		}
	}
	// The cert appears a moment after the key when another site is creating it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := loadCA(crtPath, keyPath)
		if err == nil || time.Now().After(deadline) {
			return a, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func createCA(dir, crtPath, keyPath string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "hadron-lab-ca", Organization: []string{"hadron lab"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create CA cert: %w", err)
	}
	tmpKey, tmpCrt := keyPath+fmt.Sprintf(".%d.tmp", os.Getpid()), crtPath+fmt.Sprintf(".%d.tmp", os.Getpid())
	defer os.Remove(tmpKey)
	defer os.Remove(tmpCrt)
	if err := writeKey(tmpKey, key); err != nil {
		return err
	}
	if err := os.WriteFile(tmpCrt, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return fmt.Errorf("write CA cert: %w", err)
	}
	if err := os.Link(tmpKey, keyPath); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil // another site created the CA first
		}
		return fmt.Errorf("publish CA key: %w", err)
	}
	if err := os.Rename(tmpCrt, crtPath); err != nil {
		return fmt.Errorf("publish CA cert: %w", err)
	}
	return nil
}

func loadCA(crtPath, keyPath string) (*authority, error) {
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
	key, err := readKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	return &authority{cert: cert, key: key, certPEM: crtPEM}, nil
}

// certRequest says what a leaf certificate is for.
type certRequest struct {
	commonName string
	orgs       []string
	dnsNames   []string
	ips        []net.IP
	server     bool
	client     bool
}

// issue writes base.crt and base.key signed by the CA, unless both exist already and the
// certificate was signed by this CA (a restarted site keeps its certificates).
func (a *authority) issue(base string, req certRequest) error {
	crtPath, keyPath := base+".crt", base+".key"
	if a.signedByMe(crtPath) {
		if _, err := os.Stat(keyPath); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return fmt.Errorf("issue %s: %w", req.commonName, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("issue %s: %w", req.commonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: req.commonName, Organization: req.orgs},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     req.dnsNames,
		IPAddresses:  req.ips,
	}
	if req.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if req.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return fmt.Errorf("issue %s: %w", req.commonName, err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	if err := os.WriteFile(crtPath, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return fmt.Errorf("issue %s: %w", req.commonName, err)
	}
	return nil
}

func (a *authority) signedByMe(crtPath string) bool {
	data, err := os.ReadFile(crtPath)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err == nil && cert.CheckSignatureFrom(a.cert) == nil
}

// ensureServiceAccountKey writes the key pair the API server signs service-account
// tokens with; it is kept across restarts so issued tokens stay valid.
func ensureServiceAccountKey(keyPath, pubPath string) error {
	if _, err := os.Stat(keyPath); err == nil {
		if _, err := os.Stat(pubPath); err == nil {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o755); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return os.WriteFile(pubPath, pemBlock("PUBLIC KEY", pub), 0o644)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := os.WriteFile(path, pemBlock("EC PRIVATE KEY", der), 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

func readKey(path string) (crypto.Signer, error) {
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

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}
