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
	return read(ctx, ref, f, "passwordFrom", data.ErrPasswordMissing)
}

// Value reads what ref points at, as Password does, for the fleet field named field
// (spec.tls.ca, ...): a certificate or a key. Errors name field and wrap ErrMissing
// when the value is not where ref says.
func Value(ctx context.Context, ref *v1alpha1.SecretRef, f *fleet.Fleet, field string) ([]byte, error) {
	v, err := read(ctx, ref, f, field, ErrMissing)
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

func read(ctx context.Context, ref *v1alpha1.SecretRef, f *fleet.Fleet, field string, missing error) (string, error) {
	switch {
	case ref == nil:
		return "", fmt.Errorf("%w: %s is not set", missing, field)
	case ref.File != "":
		p := ref.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s.file: %v", missing, field, err)
		}
		v := trimNewline(string(b))
		if v == "" {
			return "", fmt.Errorf("%w: %s.file %s is empty", missing, field, p)
		}
		return v, nil
	case ref.Env != "":
		v, ok := os.LookupEnv(ref.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("%w: %s.env: $%s is not set", missing, field, ref.Env)
		}
		return v, nil
	case ref.Secret != nil:
		return secretValue(ctx, ref.Secret, f, field, missing)
	}
	return "", fmt.Errorf("%w: %s names no file, env or secret", missing, field)
}

// secretValue reads ref's key from the Secret on ref's site. A Secret or key that is
// not there wraps missing; a site that cannot be reached does not (it may answer
// later).
func secretValue(ctx context.Context, ref *v1alpha1.KubeSecretKeyRef, f *fleet.Fleet, field string, missing error) (string, error) {
	where := fmt.Sprintf("%s.secret %s/%s (key %q) on site %s", field, ref.Namespace, ref.Name, ref.Key, ref.Site)
	s := f.Site(ref.Site)
	if s == nil {
		return "", fmt.Errorf("%w: %s: the site is not in the fleet", missing, where)
	}
	cfg, err := site.RESTConfig(s, f.Dir)
	if err != nil { // err names the site
		return "", fmt.Errorf("%s.secret %s/%s (key %q): %w", field, ref.Namespace, ref.Name, ref.Key, err)
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
		return "", fmt.Errorf("%w: %s: no such secret", missing, where)
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
		return "", fmt.Errorf("%w: %s: the secret has no such key (%s)", missing, where, has)
	}
	pw := trimNewline(string(v))
	if pw == "" {
		return "", fmt.Errorf("%w: %s: the value is empty", missing, where)
	}
	return pw, nil
}

// trimNewline drops one trailing newline (LF or CRLF), as a file written by an editor
// or a Secret made with --from-file has.
func trimNewline(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
}
