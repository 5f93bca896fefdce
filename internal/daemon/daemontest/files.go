package daemontest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/internal/fleet"
)

func tlsConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// writeFleet writes f as a multi-document fleet file, for the commands that load one.
func writeFleet(t testing.TB, f *fleet.Fleet, dir string) string {
	t.Helper()
	var out []byte
	add := func(v any) {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	for _, s := range f.Sites {
		s.APIVersion, s.Kind = "hadron.dev/v1alpha1", "Site"
		add(s)
	}
	for _, a := range f.Applications {
		add(a)
	}
	for _, m := range f.MirrorSets {
		m.APIVersion, m.Kind = "hadron.dev/v1alpha1", "MirrorSet"
		add(m)
	}
	for _, p := range f.DNSProviders {
		p.APIVersion, p.Kind = "hadron.dev/v1alpha1", "DNSProvider"
		add(p)
	}
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Load(path); err != nil {
		t.Fatalf("the test fleet does not load: %v", err)
	}
	return path
}
