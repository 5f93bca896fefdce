package coord_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
)

// insecureTLS trusts the cluster's CA but presents no client certificate.
func insecureTLS(t *testing.T, pki coord.PKI) *tls.Config {
	t.Helper()
	pool, err := pki.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// A real etcd member refuses a client whose certificate another CA signed, even one
// for the very site name and addresses, and serves one of its own CA: a fleet's trust
// is its CA, not the names in a certificate.
func TestEtcdRefusesCertificateOfAnotherCA(t *testing.T) {
	f := coordtest.Fleet(239)
	f.Sites = f.Sites[:1] // one member is a cluster with a majority of its own
	pki, members := coordtest.StartCluster(t, f)
	site := members[0].Name
	other := coord.PKI{Dir: filepath.Join(t.TempDir(), "other")}
	if err := other.Init(f); err != nil {
		t.Fatal(err)
	}
	foreign, err := other.SiteBundle(site).ClientTLS(site)
	if err != nil {
		t.Fatal(err)
	}
	// Trust the real server, so that only the client certificate can be refused.
	pool, err := pki.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	foreign.RootCAs = pool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, tc := range map[string]struct {
		tls  *tls.Config
		want bool
	}{
		"another CA's certificate":   {foreign, false},
		"the operator's certificate": {mustClientTLS(t, pki.OperatorBundle(), coord.OperatorName), true},
	} {
		c, err := coord.NewClient(coord.ClientOptions{Endpoints: members[0].Member.Endpoints(), TLS: tc.tls})
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = c.Put(rctx, coord.Root+"tls-test", name)
		rcancel()
		c.Close()
		if ok := err == nil; ok != tc.want {
			t.Errorf("%s: write err = %v, want accepted %v", name, err, tc.want)
		}
	}
}

func mustClientTLS(t *testing.T, p coord.PKI, name string) *tls.Config {
	t.Helper()
	cfg, err := p.ClientTLS(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
