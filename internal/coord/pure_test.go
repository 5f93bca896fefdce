package coord

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
)

func TestKeys(t *testing.T) {
	k := ObservationKey("shop", "east", "witness")
	if k != "/hadron/v1/observations/shop/east/witness" {
		t.Fatalf("observation key %q", k)
	}
	cases := []struct {
		key             string
		app, site, from string
		ok              bool
	}{
		{k, "shop", "east", "witness", true},
		{"/hadron/v1/observations/shop/east", "", "", "", false},
		{"/hadron/v1/observations/shop/east/w/x", "", "", "", false},
		{"/hadron/v1/apps/shop/active", "", "", "", false},
		{"/hadron/v1/observations//east/w", "", "", "", false},
	}
	for _, c := range cases {
		app, site, from, ok := ParseObservationKey(c.key)
		if ok != c.ok || app != c.app || site != c.site || from != c.from {
			t.Errorf("ParseObservationKey(%q) = %q %q %q %v", c.key, app, site, from, ok)
		}
	}
	appCases := []struct {
		key, app, field string
		ok              bool
	}{
		{ActiveKey("shop"), "shop", "active", true},
		{HealthKey("shop"), "shop", "health", true},
		{"/hadron/v1/apps/shop", "", "", false},
		{"/hadron/v1/apps/shop/health/x", "", "", false},
		{"/hadron/v1/ledger/shop/1", "", "", false},
	}
	for _, c := range appCases {
		app, field, ok := ParseAppKey(c.key)
		if ok != c.ok || app != c.app || field != c.field {
			t.Errorf("ParseAppKey(%q) = %q %q %v", c.key, app, field, ok)
		}
	}
	for key, want := range map[string]string{
		DataReachKey("west"):            "west",
		"/hadron/v1/daemons/west":       "",
		"/hadron/v1/daemons//data":      "",
		"/hadron/v1/daemons/west/x":     "",
		"/hadron/v1/apps/west/data":     "",
		"/hadron/v1/daemons/west/data/": "",
	} {
		if site, ok := ParseDataReachKey(key); site != want || ok != (want != "") {
			t.Errorf("ParseDataReachKey(%q) = %q %v, want %q", key, site, ok, want)
		}
	}
}

func TestSelfFenced(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		lastOK time.Time
		want   bool
	}{
		{"never reached a majority", time.Time{}, true},
		{"just reached it", now, false},
		{"within the grace", now.Add(-2 * time.Second), false},
		{"exactly at the limit", now.Add(-3 * time.Second), false},
		{"past the limit", now.Add(-3*time.Second - time.Millisecond), true},
	}
	for _, c := range cases {
		if got := SelfFenced(c.lastOK, now, 3*time.Second); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPKIInitKeepsExistingFilesAndForeignCA(t *testing.T) {
	site := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: "east"}, Spec: v1alpha1.SiteSpec{Daemon: &v1alpha1.DaemonSpec{
		API: v1alpha1.Endpoint{Address: "127.0.1.40:7443", FromRegions: map[string]string{"west": "127.2.1.40:7443"}},
		DNS: &v1alpha1.Endpoint{Address: "ns.example.net:53"}}}}
	f := &fleet.Fleet{Sites: []*v1alpha1.Site{site}}
	p := PKI{Dir: t.TempDir()}
	if err := p.Init(f); err != nil {
		t.Fatal(err)
	}
	east := p.SiteBundle("east")
	cert, err := tls.LoadX509KeyPair(east.CertFile("east"), east.KeyFile("east"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.1.40", "127.2.1.40", "ns.example.net", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not name %s: %v", h, err)
		}
	}
	before, _ := os.ReadFile(p.CAFile())
	tok, _ := p.Token()
	if err := p.Init(f); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p.CAFile())
	tok2, _ := p.Token()
	if string(before) != string(after) || tok != tok2 || len(tok) != 64 {
		t.Fatal("a second Init changed the CA or the token")
	}
	// A directory with a CA certificate but no key: missing certificates are an error,
	// the CA is left alone.
	os.Remove(filepath.Join(p.Dir, "ca.key"))
	os.Remove(east.CertFile("east"))
	if err := p.Init(f); !errors.Is(err, ErrNoCAKey) {
		t.Fatalf("Init without the CA key: %v, want ErrNoCAKey", err)
	}
	if now, _ := os.ReadFile(p.CAFile()); string(now) != string(before) {
		t.Fatal("the CA was replaced")
	}
}
