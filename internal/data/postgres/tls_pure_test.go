package postgres

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/pki"
)

func TestConninfoCarriesNoPassword(t *testing.T) {
	set := &v1alpha1.MirrorSet{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: v1alpha1.MirrorSetSpec{
		Members: []v1alpha1.Member{
			{Name: "a", Site: "east", Address: v1alpha1.Endpoint{Address: "10.0.0.1:5432", FromRegions: map[string]string{"west": "10.9.0.1:6432"}}},
			{Name: "b", Site: "west", Address: v1alpha1.Endpoint{Address: "10.0.0.2:5432"}},
		},
		Credentials: &v1alpha1.Credentials{User: "hadron"},
	}}
	ca := []byte(testCA(t))
	for _, tc := range []struct {
		name string
		tls  *TLS
		want []string
		not  []string
	}{
		{"no TLS", nil, []string{"host='10.9.0.1'", "port=6432", "user='hadron_replication'", "passfile='/data/b.pgpass'", "sslmode=disable", "application_name='b'"},
			[]string{"password=", "sslrootcert"}},
		{"verify-full", &TLS{Mode: v1alpha1.TLSVerifyFull, CA: ca}, []string{"sslmode=verify-full", "sslrootcert='/data/b.tls/ca.crt'", "passfile='/data/b.pgpass'"},
			[]string{"password="}},
		{"require", &TLS{Mode: v1alpha1.TLSRequire}, []string{"sslmode=require"}, []string{"password=", "sslrootcert"}},
	} {
		d, err := New(Config{Set: set, Regions: map[string]string{"east": "east", "west": "west"}, Password: "pw", TLS: tc.tls})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ci := d.conninfo(d.members["a"], "west", d.replUser(), "b", "/data/b")
		for _, w := range tc.want {
			if !strings.Contains(ci, w) {
				t.Errorf("%s: %q lacks %q", tc.name, ci, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(ci, n) {
				t.Errorf("%s: %q has %q", tc.name, ci, n)
			}
		}
	}
	for _, bad := range []*TLS{{Mode: v1alpha1.TLSVerifyFull}, {Mode: v1alpha1.TLSVerifyCA, CA: []byte("not pem")}, {Mode: "prefer"}} {
		if _, err := New(Config{Set: set, Password: "pw", TLS: bad}); err == nil {
			t.Errorf("New accepted tls %+v", bad)
		}
	}
}

// verify-ca checks the chain and nothing else; the name is verify-full's business.
func TestVerifyCAChecksTheChainOnly(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreate(filepath.Join(dir, "ca"), pkix.Name{CommonName: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadOrCreate(filepath.Join(dir, "other"), pkix.Name{CommonName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Issue(filepath.Join(dir, "leaf"), pki.Request{CommonName: "m", Hosts: []string{"10.0.0.1"}, Server: true}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "leaf.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	pool := func(a *pki.Authority) *x509.CertPool { p := x509.NewCertPool(); p.AddCert(a.Cert); return p }
	if err := clientTLS(v1alpha1.TLSVerifyCA, pool(ca), "a-name-not-in-it").VerifyPeerCertificate([][]byte{block.Bytes}, nil); err != nil {
		t.Errorf("verify-ca with the signing CA: %v", err)
	}
	if err := clientTLS(v1alpha1.TLSVerifyCA, pool(other), "10.0.0.1").VerifyPeerCertificate([][]byte{block.Bytes}, nil); err == nil {
		t.Error("verify-ca accepted a certificate from another CA")
	}
	if c := clientTLS(v1alpha1.TLSVerifyFull, pool(ca), "10.0.0.1"); c.ServerName != "10.0.0.1" || c.InsecureSkipVerify {
		t.Errorf("verify-full: %+v", c)
	}
	if clientTLS(v1alpha1.TLSDisable, nil, "x") != nil {
		t.Error("disable has a TLS configuration")
	}
}

func testCA(t *testing.T) string {
	a, err := pki.LoadOrCreate(t.TempDir(), pkix.Name{CommonName: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	return string(a.CertPEM)
}
