package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Pair is a certificate and its key kept in two files and read again when either file
// changes, so that a long-running server or client picks up a rotated certificate at
// its next handshake without a restart. Every call looks at the files (two stat calls,
// no goroutine): a rotation is seen by the first handshake after it.
//
// The two files are replaced one after the other (by `hadron pki rotate`, or by an
// operator copying them), so for a moment the key may not match the certificate. Such a
// pair is refused and the previous one kept; it is tried again when the files change
// once more. A handshake thus never fails because a rotation is half done.
type Pair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cur     *tls.Certificate
	leaf    *x509.Certificate
	pem     []byte // certificate chain then key, as read
	version uint64
	seen    stamp // the files' state when cur was read
	refused stamp // the files' state of the last pair refused
	lastErr error
}

// stamp identifies the state of the two files; a rename or a write changes it.
type stamp struct {
	cert, key fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	return a.info != nil && b.info != nil && os.SameFile(a.info, b.info) && a.mod.Equal(b.mod) && a.size == b.size
}

func (s stamp) same(o stamp) bool { return s.cert.same(o.cert) && s.key.same(o.key) }

// LoadPair reads certFile and keyFile; they must hold a matching pair now.
func LoadPair(certFile, keyFile string) (*Pair, error) {
	p := &Pair{certFile: certFile, keyFile: keyFile}
	st, err := p.stat()
	if err != nil {
		return nil, err
	}
	if err := p.load(st); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pair) stat() (stamp, error) {
	one := func(path string) (fileStamp, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return fileStamp{}, fmt.Errorf("certificate pair: %w", err)
		}
		return fileStamp{mod: fi.ModTime(), size: fi.Size(), info: fi}, nil
	}
	c, err := one(p.certFile)
	if err != nil {
		return stamp{}, err
	}
	k, err := one(p.keyFile)
	if err != nil {
		return stamp{}, err
	}
	return stamp{cert: c, key: k}, nil
}

// load reads the files; called with mu held (or before p is shared).
func (p *Pair) load(st stamp) error {
	certPEM, err := os.ReadFile(p.certFile)
	if err != nil {
		return fmt.Errorf("certificate pair: %w", err)
	}
	keyPEM, err := os.ReadFile(p.keyFile)
	if err != nil {
		return fmt.Errorf("certificate pair: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("certificate pair %s, %s: %w", p.certFile, p.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("certificate pair %s: %w", p.certFile, err)
		}
	}
	p.cur, p.leaf, p.seen = &cert, cert.Leaf, st
	p.pem = append(append([]byte{}, certPEM...), keyPEM...)
	p.version++
	return nil
}

// refresh reads the files again when they changed since the pair in use (or the last
// one refused) was read.
func (p *Pair) refresh() {
	st, err := p.stat()
	if err != nil {
		p.lastErr = err
		return
	}
	if st.same(p.seen) || st.same(p.refused) {
		return
	}
	if err := p.load(st); err != nil {
		p.refused, p.lastErr = st, err
		return
	}
	p.lastErr = nil
}

// Certificate returns the newest matching pair of the files.
func (p *Pair) Certificate() *tls.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh()
	return p.cur
}

// Leaf is the certificate in use.
func (p *Pair) Leaf() *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh()
	return p.leaf
}

// Combined returns the pair in use as one PEM text (certificate chain, then key) and
// a version that grows with every reload; tools that read their certificate from files
// (embedded etcd) are given this text in one file, written only when it changes.
func (p *Pair) Combined() ([]byte, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh()
	return p.pem, p.version
}

// Err is why the files' current content is not in use (nil when it is).
func (p *Pair) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// GetCertificate is for tls.Config.GetCertificate.
func (p *Pair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// GetClientCertificate is for tls.Config.GetClientCertificate.
func (p *Pair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// ReadCert reads the first certificate of a PEM file.
func ReadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New(path + " holds no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
