package coord

import (
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"hadron.dev/hadron/internal/atomicfile"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pki"
)

// OperatorName names the operator's bundle (DIR/client) and its certificate
// (client.crt): a client certificate for the CLI and etcdctl.
const OperatorName = "client"

// SiteBundle is the directory that site's daemon receives: the CA certificate, the
// site's certificate and key, the API token; never the CA key.
func (p PKI) SiteBundle(site string) PKI { return PKI{Dir: filepath.Join(p.Dir, "sites", site)} }

// OperatorBundle is the operator's directory: the CA certificate, client.crt/.key and
// the API token.
func (p PKI) OperatorBundle() PKI { return PKI{Dir: filepath.Join(p.Dir, OperatorName)} }

// ForSite is the bundle site's daemon reads: p itself when it holds the site's files
// (the bundle a site received, or a directory in that layout brought by a production
// fleet), else p/sites/<site> (the CA's directory, as tests run it). Without either the
// daemon refuses to start: it never creates a CA of its own, which would split the
// fleet into daemons that do not trust each other.
func (p PKI) ForSite(site string) (PKI, error) {
	for _, b := range []PKI{p, p.SiteBundle(site)} {
		if exists(b.CAFile()) && exists(b.CertFile(site)) && exists(b.KeyFile(site)) {
			return b, nil
		}
	}
	return PKI{}, fmt.Errorf("%w for site %s in %s (a daemon needs %s, %s.crt and %s.key and does not create a CA of its own): "+
		"on a trusted machine run `hadron serve -f FLEET --init-pki DIR` once, copy DIR/sites/%s/ to this site (never DIR/%s), "+
		"and start `hadron serve --site %s --pki <that directory>`",
		ErrNoPKI, site, p.Dir, caCert, site, site, site, caKey, site)
}

// HoldsCAKey reports whether p holds the CA key: a daemon's directory should not.
func (p PKI) HoldsCAKey() bool { return exists(filepath.Join(p.Dir, caKey)) }

// InitOptions tune Init.
type InitOptions struct {
	// Validity of the leaf certificates (default pki.LeafValidity).
	Validity time.Duration
}

// Init creates what is missing with default options; see InitWith.
func (p PKI) Init(f *fleet.Fleet) error { return p.InitWith(f, InitOptions{}) }

// InitWith creates what is missing in the CA's directory p: the CA, the API token, and
// a bundle per daemon site of the fleet — a certificate whose names cover all of the
// site's daemon addresses (as seen from every region) — and the operator's bundle.
// Existing certificates signed by the CA are kept, so InitWith is safe to run again
// (after adding a site); a lock serialises processes that run it together.
func (p PKI) InitWith(f *fleet.Fleet, o InitOptions) error {
	unlock, err := p.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if !exists(p.TokenFile()) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("api token: %w", err)
		}
		if err := atomicfile.Write(p.TokenFile(), []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return err
		}
	}
	var ca *pki.Authority
	for _, l := range leaves(f) {
		b := l.bundle(p)
		// With the CA key at hand a certificate of another CA is replaced (Issue keeps
		// those of this CA); without it only missing certificates need the key.
		if p.HoldsCAKey() || !exists(b.CertFile(l.name)) || !exists(b.KeyFile(l.name)) {
			if ca == nil {
				if ca, err = pki.LoadOrCreate(p.Dir, pkix.Name{CommonName: "hadron CA"}); err != nil {
					if errors.Is(err, pki.ErrNoCAKey) {
						// A CA brought without its key (a production PKI) is never replaced.
						return fmt.Errorf("%s has no %s: issue the missing certificates with your own CA: %w", p.Dir, caKey, ErrNoCAKey)
					}
					return err
				}
			}
			req := l.req
			req.Validity = o.Validity
			if err := ca.Issue(filepath.Join(b.Dir, l.name), req); err != nil {
				return fmt.Errorf("certificate of %s: %w", l.name, err)
			}
		}
		if err := p.fillBundle(b); err != nil {
			return err
		}
	}
	return nil
}

// fillBundle copies the CA certificate and the API token into b when they differ.
func (p PKI) fillBundle(b PKI) error {
	for _, name := range []string{caCert, tokenFile} {
		want, err := os.ReadFile(filepath.Join(p.Dir, name))
		if err != nil {
			return fmt.Errorf("bundle %s: %w", b.Dir, err)
		}
		dst := filepath.Join(b.Dir, name)
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
			continue
		}
		mode := os.FileMode(0o644)
		if name == tokenFile {
			mode = 0o600
		}
		if err := atomicfile.Write(dst, want, mode); err != nil {
			return fmt.Errorf("bundle %s: %w", b.Dir, err)
		}
	}
	return nil
}

func (p PKI) lock() (unlock func(), err error) {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(p.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pki lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("pki lock: %w", err)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// leaf is one certificate the CA issues: a daemon site's or the operator's.
type leaf struct {
	name string
	req  pki.Request
}

func (l leaf) bundle(p PKI) PKI {
	if l.name == OperatorName {
		return p.OperatorBundle()
	}
	return p.SiteBundle(l.name)
}

func leaves(f *fleet.Fleet) []leaf {
	var out []leaf
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil {
			continue
		}
		out = append(out, leaf{name: s.Name, req: pki.Request{CommonName: s.Name, Orgs: []string{"hadron"},
			Hosts: daemonHosts(s.Spec.Daemon), Server: true, Client: true}})
	}
	return append(out, leaf{name: OperatorName, req: pki.Request{CommonName: "hadron operator", Orgs: []string{"hadron"}, Client: true}})
}

// RotateOptions say which certificates Rotate reissues.
type RotateOptions struct {
	// Names are daemon sites or OperatorName; empty means every bundle.
	Names []string
	// Validity of the new certificates (default pki.LeafValidity).
	Validity time.Duration
	// Within, when set, reissues only certificates that expire within it, so that a
	// periodic job can run Rotate and leave fresh certificates alone.
	Within time.Duration
	// Now is the time to judge expiry by (default time.Now).
	Now time.Time
}

// Rotation is what Rotate did to one certificate.
type Rotation struct {
	Name, CertFile string
	// Rotated is false when the certificate was not due (RotateOptions.Within).
	Rotated  bool
	Serial   *big.Int
	NotAfter time.Time
}

// RotationDue reports whether a certificate expiring at notAfter is reissued at now:
// always without a window, else when it expires within it (or has expired).
func RotationDue(notAfter, now time.Time, within time.Duration) bool {
	return within <= 0 || !notAfter.After(now.Add(within))
}

// Rotate reissues leaf certificates — a new key and certificate from the same CA — in
// the CA's directory p. Each bundle's files are replaced in place; a daemon reading its
// bundle there (or a copy of it made afterwards) serves the new certificate from its
// next handshake on. The CA itself is never created here.
func (p PKI) Rotate(f *fleet.Fleet, o RotateOptions) ([]Rotation, error) {
	all := leaves(f)
	for _, n := range o.Names {
		if !slices.ContainsFunc(all, func(l leaf) bool { return l.name == n }) {
			return nil, fmt.Errorf("rotate %s: %w", n, ErrUnknownBundle)
		}
	}
	unlock, err := p.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	ca, err := pki.Load(p.Dir)
	if err != nil {
		return nil, fmt.Errorf("rotate: the CA of %s: %w", p.Dir, err)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out []Rotation
	for _, l := range all {
		if len(o.Names) > 0 && !slices.Contains(o.Names, l.name) {
			continue
		}
		b := l.bundle(p)
		r := Rotation{Name: l.name, CertFile: b.CertFile(l.name)}
		if cur, err := pki.ReadCert(r.CertFile); err == nil && !RotationDue(cur.NotAfter, now, o.Within) {
			r.Serial, r.NotAfter = cur.SerialNumber, cur.NotAfter
			out = append(out, r)
			continue
		}
		req := l.req
		req.Validity = o.Validity
		if err := ca.Reissue(filepath.Join(b.Dir, l.name), req); err != nil {
			return out, fmt.Errorf("rotate %s: %w", l.name, err)
		}
		if err := p.fillBundle(b); err != nil {
			return out, err
		}
		cur, err := pki.ReadCert(r.CertFile)
		if err != nil {
			return out, fmt.Errorf("rotate %s: %w", l.name, err)
		}
		r.Rotated, r.Serial, r.NotAfter = true, cur.SerialNumber, cur.NotAfter
		out = append(out, r)
	}
	return out, nil
}
