package coord_test

import (
	"crypto/tls"
	"testing"

	"hadron.dev/hadron/internal/coord"
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
