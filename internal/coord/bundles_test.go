package coord

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/pki"
)

func testFleetPKI(t *testing.T) (PKI, []string) {
	t.Helper()
	f := testFleet() // east, west, witness with daemons
	p := PKI{Dir: t.TempDir()}
	if err := p.InitWith(f, InitOptions{Validity: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var sites []string
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			sites = append(sites, s.Name)
		}
	}
	return p, sites
}

// A site's bundle is what its daemon needs and no more: never the CA key.
func TestSiteBundlesHoldNoCAKey(t *testing.T) {
	p, sites := testFleetPKI(t)
	if len(sites) < 2 {
		t.Fatalf("test fleet has %d daemon sites", len(sites))
	}
	for _, site := range sites {
		b := p.SiteBundle(site)
		entries, err := os.ReadDir(b.Dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		want := []string{"api-token", "ca.crt", site + ".crt", site + ".key"}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("bundle of %s holds %v, want %v", site, names, want)
		}
		if b.HoldsCAKey() {
			t.Errorf("bundle of %s holds the CA key", site)
		}
		got, err := b.ForSite(site)
		if err != nil || got.Dir != b.Dir {
			t.Errorf("ForSite in the bundle of %s: %v, %v", site, got, err)
		}
		// The CA's directory leads to the same bundle.
		if got, err := p.ForSite(site); err != nil || got.Dir != b.Dir {
			t.Errorf("ForSite in the CA's directory: %v, %v", got, err)
		}
		if fi, err := os.Stat(b.KeyFile(site)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key of %s: %v, mode %v", site, err, fi.Mode())
		}
	}
	op := p.OperatorBundle()
	for _, f := range []string{"ca.crt", "client.crt", "client.key", "api-token"} {
		if _, err := os.Stat(filepath.Join(op.Dir, f)); err != nil {
			t.Errorf("operator bundle: %v", err)
		}
	}
	if op.HoldsCAKey() {
		t.Error("operator bundle holds the CA key")
	}
	if _, tlsCfg, err := op.APICredentials(""); err != nil || tlsCfg.GetClientCertificate == nil {
		t.Errorf("operator credentials: %v (client certificate offered: %v)", err, tlsCfg != nil && tlsCfg.GetClientCertificate != nil)
	}
}

func TestForSiteWithoutPKISaysWhatToRun(t *testing.T) {
	_, err := PKI{Dir: filepath.Join(t.TempDir(), "nothing")}.ForSite("east")
	if !errors.Is(err, ErrNoPKI) {
		t.Fatalf("err = %v, want ErrNoPKI", err)
	}
	for _, want := range []string{"--init-pki", "sites/east/", "ca.key", "--pki"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message does not say %q: %v", want, err)
		}
	}
}

func TestRotationDue(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name     string
		notAfter time.Time
		within   time.Duration
		want     bool
	}{
		{"no window: always", now.Add(300 * day), 0, true},
		{"outside the window", now.Add(31 * day), 30 * day, false},
		{"at the window's edge", now.Add(30 * day), 30 * day, true},
		{"inside the window", now.Add(day), 30 * day, true},
		{"expired", now.Add(-day), 30 * day, true},
	}
	for _, c := range cases {
		if got := RotationDue(c.notAfter, now, c.within); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRotateReissuesWithTheSameCA(t *testing.T) {
	p, _ := testFleetPKI(t)
	ca, _ := os.ReadFile(p.CAFile())
	before, err := pki.ReadCert(p.SiteBundle("east").CertFile("east"))
	if err != nil {
		t.Fatal(err)
	}
	westBefore, _ := os.ReadFile(p.SiteBundle("west").CertFile("west"))

	// Not due within 30 minutes of a one-hour certificate: nothing changes.
	got, err := p.Rotate(testFleet(), RotateOptions{Names: []string{"east"}, Within: 30 * time.Minute})
	if err != nil || len(got) != 1 || got[0].Rotated {
		t.Fatalf("rotate with a window: %+v, %v", got, err)
	}
	got, err = p.Rotate(testFleet(), RotateOptions{Names: []string{"east"}, Validity: 2 * time.Hour})
	if err != nil || len(got) != 1 || !got[0].Rotated {
		t.Fatalf("rotate east: %+v, %v", got, err)
	}
	after, err := pki.ReadCert(p.SiteBundle("east").CertFile("east"))
	if err != nil {
		t.Fatal(err)
	}
	if after.SerialNumber.Cmp(before.SerialNumber) == 0 || after.SerialNumber.Cmp(got[0].Serial) != 0 {
		t.Errorf("serial %s → %s (reported %s)", before.SerialNumber, after.SerialNumber, got[0].Serial)
	}
	if d := time.Until(after.NotAfter); d < 119*time.Minute || d > 2*time.Hour {
		t.Errorf("new certificate expires in %s, want 2h", d)
	}
	if now, _ := os.ReadFile(p.CAFile()); string(now) != string(ca) {
		t.Error("rotation changed the CA")
	}
	if now, _ := os.ReadFile(p.SiteBundle("west").CertFile("west")); string(now) != string(westBefore) {
		t.Error("rotating east changed west")
	}
	ca2, _ := os.ReadFile(p.SiteBundle("east").CAFile())
	if string(ca2) != string(ca) {
		t.Error("east's bundle has another CA certificate")
	}
	if _, err := p.Rotate(testFleet(), RotateOptions{Names: []string{"mars"}}); !errors.Is(err, ErrUnknownBundle) {
		t.Errorf("rotate mars: %v, want ErrUnknownBundle", err)
	}
	// A bundle is not a CA: rotation there fails and creates nothing.
	b := p.SiteBundle("east")
	if _, err := b.Rotate(testFleet(), RotateOptions{}); err == nil {
		t.Error("rotate in a site bundle succeeded")
	}
	if b.HoldsCAKey() {
		t.Error("rotate created a CA in a site bundle")
	}
}

// testFleet has daemons at east and west, and a site without one.
func testFleet() *fleet.Fleet {
	f := &fleet.Fleet{}
	for i, name := range []string{"east", "west", "lb-only"} {
		s := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if name != "lb-only" {
			s.Spec.Daemon = &v1alpha1.DaemonSpec{API: v1alpha1.Endpoint{Address: fmt.Sprintf("127.0.9.%d:7443", 41+i)}}
		}
		f.Sites = append(f.Sites, s)
	}
	return f
}
