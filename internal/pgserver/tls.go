package pgserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A member's TLS files live beside its data directory, as its log does: pg_basebackup
// and pg_rewind copy a data directory whole, and a copied key would make one member
// answer with another's certificate (whose names do not match its address).
const (
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	// CAFile is the CA that clients running as the server's OS user (the WAL
	// receiver, pg_basebackup, pg_rewind) verify other members against.
	CAFile = "ca.crt"
)

// TLSDir is where the TLS files of the data directory dir are.
func TLSDir(dir string) string { return filepath.Clean(dir) + ".tls" }

// TLSFiles are PEM contents; an empty one is not written.
type TLSFiles struct {
	CA   []byte
	Cert []byte
	Key  []byte
}

// WriteTLS writes files into TLSDir(dir), each 0600 and owned by the server's OS
// user (PostgreSQL refuses a key that others can read). A server started afterwards
// serves TLS when the certificate and key are there.
func WriteTLS(dir string, files TLSFiles) error {
	td := TLSDir(dir)
	if err := os.MkdirAll(td, 0o700); err != nil {
		return fmt.Errorf("tls files of %s: %w", dir, err)
	}
	if err := chownToOSUser(td); err != nil {
		return fmt.Errorf("tls files of %s: %w", dir, err)
	}
	for _, f := range []struct {
		name string
		pem  []byte
	}{{CAFile, files.CA}, {ServerCertFile, files.Cert}, {ServerKeyFile, files.Key}} {
		if len(f.pem) == 0 {
			continue
		}
		text := string(f.pem)
		if !strings.HasSuffix(text, "\n") { // a value read from a Secret lost its last newline
			text += "\n"
		}
		tmp, err := writeOwned(td, "."+f.name+".*", text)
		if err != nil {
			return fmt.Errorf("tls files of %s: %w", dir, err)
		}
		if err := os.Rename(tmp, filepath.Join(td, f.name)); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("tls files of %s: %w", dir, err)
		}
	}
	return nil
}

// tlsOptions are the postmaster options that turn TLS on when dir has a certificate
// and a key beside it, as one shell string (pg_ctl runs the postmaster through
// /bin/sh), or "" when it has not.
func tlsOptions(dir string) (string, error) {
	kv, err := TLSSettings(dir)
	if err != nil || len(kv) == 0 {
		return "", err
	}
	var b strings.Builder
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		b.WriteString(" -c " + k + "=" + shellQuote(v))
	}
	return b.String(), nil
}

// TLSSettings are the server settings (name=value) that turn TLS on when dir has a
// certificate and a key beside it, or none when it has not. Given on the command line
// (-c), they win over postgresql.conf and are never copied to another member by
// pg_basebackup or pg_rewind. A postmaster run in the foreground (a member in a pod)
// takes them as they are; Start quotes them for pg_ctl's shell.
func TLSSettings(dir string) ([]string, error) {
	td, err := filepath.Abs(TLSDir(dir))
	if err != nil {
		return nil, err
	}
	crt, key := filepath.Join(td, ServerCertFile), filepath.Join(td, ServerKeyFile)
	for _, p := range []string{crt, key} {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	}
	return []string{"ssl=on", "ssl_cert_file=" + crt, "ssl_key_file=" + key, "ssl_min_protocol_version=TLSv1.2"}, nil
}

// shellQuote makes s one word for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
