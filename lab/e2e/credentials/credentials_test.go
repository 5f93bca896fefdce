// Package credentials_test reads mirror-set passwords from Kubernetes Secrets on a real
// lab control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok), the
// way `hadron data` and the daemons do when a fleet says passwordFrom.secret.
package credentials_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/api/v1alpha1"
	datacmd "hadron.dev/hadron/internal/cmd/data"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/credentials"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/lab/internal/controlplane"
	"hadron.dev/hadron/lab/internal/controlplane/cptest"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

// siteIP is the control plane's address, away from the lab's and the other tests'.
// daemonNet puts the test daemons on 127.0.207.11–43, beside it.
const (
	siteIP    = "127.0.207.1"
	daemonNet = 207
)

// The Secret the tests read, and two values that must never appear in an error.
const (
	secretNS, secretName = "shop", "shop-db"
	otherValue           = "not-the-password-5c1b"
)

// startSite runs one site's control plane until the test ends and returns the path of
// its kubeconfig and a client.
func startSite(t *testing.T, dir string) (string, kubernetes.Interface) {
	t.Helper()
	kubeconfig := cptest.Start(t, "cred", siteIP, dir)
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return kubeconfig, cs
}

// putSecret creates the namespace and the Secret with password under key "password".
func putSecret(t *testing.T, cs kubernetes.Interface, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secretNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secretNS, Name: secretName},
		Data: map[string][]byte{"password": []byte(password + "\n"), "other": []byte(otherValue)}}
	if _, err := cs.CoreV1().Secrets(secretNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func secretRef(site, name, key string) *v1alpha1.SecretRef {
	return &v1alpha1.SecretRef{Secret: &v1alpha1.KubeSecretKeyRef{Site: site, Namespace: secretNS, Name: name, Key: key}}
}

// TestPasswordFromSecret reads a mirror set's password from a Secret on a real API
// server: through data.Password, through `hadron data status` against a real
// PostgreSQL, and in the daemons' drivers, whose status then shows the set.
func TestPasswordFromSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	testenv.PostgresBin(t)
	dir := t.TempDir()
	kubeconfig, cs := startSite(t, dir)
	pg := demotest.StartPG(t)
	putSecret(t, cs, demotest.Password)

	// A site whose API server refuses connections: an address nothing listens on.
	dead, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range dead.Clusters {
		c.Server = "https://" + demotest.FreeAddr(t)
	}
	deadPath := filepath.Join(dir, "dead.kubeconfig")
	if err := clientcmd.WriteToFile(*dead, deadPath); err != nil {
		t.Fatal(err)
	}
	ctxName := controlplane.Context("cred")
	f := &fleet.Fleet{Dir: dir, Sites: []*v1alpha1.Site{
		{ObjectMeta: metav1.ObjectMeta{Name: "east"}, Spec: v1alpha1.SiteSpec{KubeContext: ctxName, Kubeconfig: kubeconfig}},
		{ObjectMeta: metav1.ObjectMeta{Name: "west"}, Spec: v1alpha1.SiteSpec{KubeContext: ctxName, Kubeconfig: "dead.kubeconfig"}},
	}}

	t.Run("Password", func(t *testing.T) {
		ctx := context.Background()
		pw, err := credentials.Password(ctx, secretRef("east", secretName, "password"), f)
		if err != nil || pw != demotest.Password {
			t.Fatalf("present: %q, %v; want the Secret's value without its newline", pw, err)
		}
		for _, tc := range []struct {
			name    string
			ref     *v1alpha1.SecretRef
			missing bool // wraps ErrPasswordMissing: nothing to retry
			wants   []string
		}{
			{"missing secret", secretRef("east", "nope", "password"), true, []string{"shop/nope", "site east", "no such secret"}},
			{"missing key", secretRef("east", secretName, "pw"), true, []string{"shop/shop-db", `"pw"`, "site east", "its keys: other, password"}},
			{"site unreachable", secretRef("west", secretName, "password"), false, []string{"shop/shop-db", "site west"}},
		} {
			_, err := credentials.Password(ctx, tc.ref, f)
			if err == nil {
				t.Fatalf("%s: no error", tc.name)
			}
			t.Logf("%s: %v", tc.name, err)
			if errors.Is(err, data.ErrPasswordMissing) != tc.missing {
				t.Errorf("%s: errors.Is(err, ErrPasswordMissing) = %v, want %v", tc.name, !tc.missing, tc.missing)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not say %q", tc.name, err, w)
				}
			}
			for _, secret := range []string{demotest.Password, otherValue} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the error shows a Secret's value: %q", tc.name, err)
				}
			}
		}
	})

	t.Run("hadron data status", func(t *testing.T) {
		fleetFile := filepath.Join(dir, "fleet.yaml")
		y := fmt.Sprintf(cliFleet, ctxName, kubeconfig, pg.Addr)
		if err := os.WriteFile(fleetFile, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := fleet.Load(fleetFile); err != nil {
			t.Fatalf("the fleet does not validate: %v", err)
		}
		cmd := datacmd.Command()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"status", "shop-db", "-f", fleetFile})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("data status: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "east-0") || !strings.Contains(out.String(), "Primary") {
			t.Fatalf("data status does not show the primary:\n%s", out.String())
		}
	})

	t.Run("daemons", func(t *testing.T) {
		w := daemontest.Start(t, daemonNet, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
			east := f.Site("east")
			east.Spec.KubeContext, east.Spec.Kubeconfig = ctxName, kubeconfig
			f.Applications[0].Spec.Data = &v1alpha1.DataRef{MirrorSet: "shop-db"}
			f.MirrorSets = []*v1alpha1.MirrorSet{{
				ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
				Spec: v1alpha1.MirrorSetSpec{
					Engine:      v1alpha1.EnginePostgres,
					Credentials: &v1alpha1.Credentials{User: "postgres", PasswordFrom: secretRef("east", secretName, "password")},
					Members: []v1alpha1.Member{
						{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Address: v1alpha1.Endpoint{Address: pg.Addr}},
					},
				},
			}}
		}})
		// Every daemon built the set's driver with the Secret's password: each one's
		// status shows the primary it observed.
		for _, s := range coordtest.Sites {
			coordtest.Eventually(t, time.Minute, s+"'s status shows the mirror set", func() bool {
				st := w.Status(t, s)
				return len(st.Apps) == 1 && st.Apps[0].Data != nil && st.Apps[0].Data.Primary == "east-0"
			})
		}
	})
}

// cliFleet is a fleet with one mirror set whose password is in the site's Secret:
// kube context, kubeconfig path, the primary's address.
const cliFleet = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec: {region: test-cred-1, kubeContext: %s, kubeconfig: %s}
---
apiVersion: hadron.dev/v1alpha1
kind: MirrorSet
metadata: {name: shop-db}
spec:
  engine: postgres
  members:
    - {name: east-0, site: east, role: primary, address: {address: "%s"}}
  credentials:
    user: postgres
    passwordFrom: {secret: {site: east, namespace: shop, name: shop-db, key: password}}
`
