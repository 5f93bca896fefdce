package credentials

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
)

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HADRON_TEST_PW", "from-env")
	f := &fleet.Fleet{Dir: dir, Sites: []*v1alpha1.Site{
		{ObjectMeta: metav1.ObjectMeta{Name: "witness"}, Spec: v1alpha1.SiteSpec{Role: v1alpha1.SiteRoleWitness}},
	}}
	secret := func(site string) *v1alpha1.SecretRef {
		return &v1alpha1.SecretRef{Secret: &v1alpha1.KubeSecretKeyRef{Site: site, Namespace: "shop", Name: "pg", Key: "password"}}
	}
	for _, tc := range []struct {
		name string
		ref  *v1alpha1.SecretRef
		want string
		// errWants are in the error, for a missing password.
		errWants []string
	}{
		{"file relative to the fleet", &v1alpha1.SecretRef{File: "pw"}, "s3cret", nil},
		{"env", &v1alpha1.SecretRef{Env: "HADRON_TEST_PW"}, "from-env", nil},
		{"missing file", &v1alpha1.SecretRef{File: "nope"}, "", []string{"passwordFrom.file"}},
		{"unset env", &v1alpha1.SecretRef{Env: "HADRON_TEST_UNSET"}, "", []string{"$HADRON_TEST_UNSET"}},
		{"secret on a site not in the fleet", secret("east"), "", []string{"shop/pg", `"password"`, "site east", "not in the fleet"}},
		{"nothing", nil, "", []string{"not set"}},
	} {
		got, err := Password(context.Background(), tc.ref, f)
		if tc.want == "" {
			if !errors.Is(err, data.ErrPasswordMissing) {
				t.Errorf("%s: err = %v, want data.ErrPasswordMissing", tc.name, err)
				continue
			}
			for _, w := range tc.errWants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not say %q", tc.name, err, w)
				}
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
	// A witness has no cluster to keep a Secret in; the error says which site and
	// secret. (Secrets on a real API server: lab/e2e/credentials.)
	if _, err := Password(context.Background(), secret("witness"), f); err == nil ||
		!errors.Is(err, site.ErrNoCluster) || !strings.Contains(err.Error(), "shop/pg") {
		t.Errorf("secret on the witness: %v", err)
	}
}

func TestValue(t *testing.T) {
	dir := t.TempDir()
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte(pem), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fleet.Fleet{Dir: dir}
	got, err := Value(context.Background(), &v1alpha1.SecretRef{File: "ca.crt"}, f, "spec.tls.ca")
	if err != nil || string(got) != strings.TrimSuffix(pem, "\n") {
		t.Fatalf("%q, %v", got, err)
	}
	_, err = Value(context.Background(), &v1alpha1.SecretRef{File: "nope.crt"}, f, "spec.tls.members[0].cert")
	if !errors.Is(err, ErrMissing) || errors.Is(err, data.ErrPasswordMissing) || !strings.Contains(err.Error(), "spec.tls.members[0].cert.file") {
		t.Fatalf("missing certificate: %v", err)
	}
}
