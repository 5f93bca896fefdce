// Package credentials reads a mirror set's password from where the fleet says it is:
// a file, an environment variable or a Kubernetes Secret on one of the fleet's sites.
// It is apart from package data so that data's vocabulary and decisions link no
// Kubernetes client.
package credentials

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
)

// SecretTimeout bounds reading a password from a site's Kubernetes Secret: a site
// whose API server does not answer must not hold up a command or a daemon's start.
const SecretTimeout = 10 * time.Second

// Password reads the secret ref points at: a file (relative to f.Dir, the fleet's
// directory), an environment variable, or a key of a Kubernetes Secret on one of f's
// sites, read through that site's kubeconfig context within SecretTimeout. One
// trailing newline is dropped from a file or a Secret's value. The password never
// appears in a log or an error; errors name where it was looked for.
func Password(ctx context.Context, ref *v1alpha1.SecretRef, f *fleet.Fleet) (string, error) {
	switch {
	case ref == nil:
		return "", fmt.Errorf("%w: credentials.passwordFrom is not set", data.ErrPasswordMissing)
	case ref.File != "":
		p := ref.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%w: passwordFrom.file: %v", data.ErrPasswordMissing, err)
		}
		pw := trimNewline(string(b))
		if pw == "" {
			return "", fmt.Errorf("%w: passwordFrom.file %s is empty", data.ErrPasswordMissing, p)
		}
		return pw, nil
	case ref.Env != "":
		pw, ok := os.LookupEnv(ref.Env)
		if !ok || pw == "" {
			return "", fmt.Errorf("%w: passwordFrom.env: $%s is not set", data.ErrPasswordMissing, ref.Env)
		}
		return pw, nil
	case ref.Secret != nil:
		return secretPassword(ctx, ref.Secret, f)
	}
	return "", fmt.Errorf("%w: passwordFrom names no file, env or secret", data.ErrPasswordMissing)
}

// secretPassword reads ref's key from the Secret on ref's site. A Secret or key that is
// not there wraps data.ErrPasswordMissing; a site that cannot be reached does not (it may
// answer later).
func secretPassword(ctx context.Context, ref *v1alpha1.KubeSecretKeyRef, f *fleet.Fleet) (string, error) {
	where := fmt.Sprintf("passwordFrom.secret %s/%s (key %q) on site %s", ref.Namespace, ref.Name, ref.Key, ref.Site)
	s := f.Site(ref.Site)
	if s == nil {
		return "", fmt.Errorf("%w: %s: the site is not in the fleet", data.ErrPasswordMissing, where)
	}
	cfg, err := site.RESTConfig(s, f.Dir)
	if err != nil { // err names the site
		return "", fmt.Errorf("passwordFrom.secret %s/%s (key %q): %w", ref.Namespace, ref.Name, ref.Key, err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	ctx, cancel := context.WithTimeout(ctx, SecretTimeout)
	defer cancel()
	sec, err := kube.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%w: %s: no such secret", data.ErrPasswordMissing, where)
	case err != nil:
		return "", fmt.Errorf("%s: %w", where, err)
	}
	v, ok := sec.Data[ref.Key]
	if !ok {
		keys := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		has := "it has no keys"
		if len(keys) > 0 {
			has = "its keys: " + strings.Join(keys, ", ")
		}
		return "", fmt.Errorf("%w: %s: the secret has no such key (%s)", data.ErrPasswordMissing, where, has)
	}
	pw := trimNewline(string(v))
	if pw == "" {
		return "", fmt.Errorf("%w: %s: the value is empty", data.ErrPasswordMissing, where)
	}
	return pw, nil
}

// trimNewline drops one trailing newline (LF or CRLF), as a file written by an editor
// or a Secret made with --from-file has.
func trimNewline(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
}
