package pgserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// InitOptions configure a new data directory.
type InitOptions struct {
	// Superuser is the database superuser's name (default "postgres").
	Superuser string
	// Password is the superuser's password; required, since every TCP login uses
	// SCRAM-SHA-256.
	Password string
	// Access is who may log in (pg_hba.conf): by default every role with a password
	// from loopback, with or without TLS.
	Access Access
	// Settings are extra postgresql.conf parameters; they override the defaults below.
	Settings map[string]string
}

// DefaultSettings are written to every new data directory: streaming replication with
// slots, hot standbys, and wal_log_hints so that pg_rewind can rejoin a former primary.
// listen_addresses and port are given by Start on the command line (so pg_basebackup
// copies never carry the primary's); Unix sockets are off.
var DefaultSettings = map[string]string{
	"unix_socket_directories":     "''",
	"wal_level":                   "replica",
	"max_wal_senders":             "16",
	"max_replication_slots":       "16",
	"wal_log_hints":               "on",
	"hot_standby":                 "on",
	"hot_standby_feedback":        "on",
	"wal_keep_size":               "'256MB'",
	"wal_sender_timeout":          "'10s'",
	"wal_receiver_timeout":        "'10s'",
	"wal_retrieve_retry_interval": "'500ms'",
	"shared_buffers":              "'32MB'",
	"max_connections":             "100",
	"password_encryption":         "'scram-sha-256'",
	"log_line_prefix":             "'%m [%p] %a '",
}

// Init creates a new database cluster in dir (empty or absent) with a superuser that
// logs in with a password over TCP, and lets in whom opts.Access says. It does not
// start the server.
func Init(ctx context.Context, dir string, opts InitOptions) error {
	if opts.Password == "" {
		return fmt.Errorf("init %s: a superuser password is required", dir)
	}
	if opts.Superuser == "" {
		opts.Superuser = "postgres"
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("init %s: %w", dir, ErrNotEmpty)
	}
	if err := PrepareDir(dir); err != nil {
		return err
	}
	pw, err := writeOwned(filepath.Dir(filepath.Clean(dir)), filepath.Base(dir)+".pw-*", opts.Password+"\n")
	if err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	defer os.Remove(pw)
	if _, err := Run(ctx, "initdb", nil, "-D", dir, "-U", opts.Superuser, "--pwfile", pw,
		"--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale",
		"--no-instructions"); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	if err := writeConfig(dir, opts); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	return nil
}

func writeConfig(dir string, opts InitOptions) error {
	if err := WriteAccess(dir, opts.Access); err != nil {
		return err
	}
	settings := map[string]string{}
	for k, v := range DefaultSettings {
		settings[k] = v
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conf strings.Builder
	conf.WriteString("\n# Written by hadron (internal/pgserver).\n")
	for _, k := range keys {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeOwned writes a 0600 temporary file in dir, owned by the server's OS user.
func writeOwned(dir, pattern, content string) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	name := f.Name()
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	if err := chownToOSUser(name); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// chownToOSUser gives path to the server's OS user when running as root.
// Chown gives path to the server's OS user when hadron runs as root (a file its
// server or tools read: a configuration holding secrets stays 0600).
func Chown(path string) error { return chownToOSUser(path) }

func chownToOSUser(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := osUser()
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}
