package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"hadron.dev/hadron/api/v1alpha1"
)

// Password reads the secret ref points at: a file (relative to baseDir, the fleet's
// directory; one trailing newline dropped) or an environment variable. Secrets kept in
// a site's Kubernetes Secret are not supported yet. The password is never logged.
func Password(ref *v1alpha1.SecretRef, baseDir string) (string, error) {
	switch {
	case ref == nil:
		return "", fmt.Errorf("%w: credentials.passwordFrom is not set", ErrPasswordMissing)
	case ref.File != "":
		p := ref.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%w: passwordFrom.file: %v", ErrPasswordMissing, err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if pw == "" {
			return "", fmt.Errorf("%w: passwordFrom.file %s is empty", ErrPasswordMissing, p)
		}
		return pw, nil
	case ref.Env != "":
		pw, ok := os.LookupEnv(ref.Env)
		if !ok || pw == "" {
			return "", fmt.Errorf("%w: passwordFrom.env: $%s is not set", ErrPasswordMissing, ref.Env)
		}
		return pw, nil
	case ref.Secret != nil:
		return "", fmt.Errorf("%w: passwordFrom.secret (%s/%s on site %s) is not supported yet; use file or env",
			ErrPasswordMissing, ref.Secret.Namespace, ref.Secret.Name, ref.Secret.Site)
	}
	return "", fmt.Errorf("%w: passwordFrom names no file, env or secret", ErrPasswordMissing)
}
