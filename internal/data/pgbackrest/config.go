// Package pgbackrest backs a PostgreSQL mirror set up with pgBackRest: the repository
// and stanza configuration (pure), the parse of `pgbackrest info` (pure), the archive
// lag (pure, from pg_stat_archiver's numbers), which backup a schedule asks for (Due,
// pure) and the runs of the pgbackrest program (backup, check, info, restore) as the
// server's OS user.
//
// One stanza per mirror set, named after it. Every member has the same
// archive_command with archive_mode=on, so whichever member is primary archives —
// the promoted one from its promotion on, starting with its timeline's history file —
// and stand-bys archive nothing. archive_mode=always (stand-bys archive what they
// receive) would close the one gap this leaves, segments a dying primary had not
// archived yet, but pgBackRest refuses to back up a server running with it (two
// writers into one archive are not supported there); that gap is the archive lag,
// which hadron measures (ArchiveLag) and docs/design/backups.md discusses.
package pgbackrest

import (
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Repo is where backups and archived WAL go, and how they are protected. Exactly one
// of Path and S3 is set.
type Repo struct {
	// Path is a directory repository (pgBackRest's posix type), on this machine.
	Path string
	S3   *S3
	// CipherPass encrypts the repository with aes-256-cbc; empty means no cipher,
	// which Validate refuses unless Unencrypted.
	CipherPass  string
	Unencrypted bool
	// RetentionFull is how many full backups are kept (pgBackRest expires older ones
	// and the WAL only they need after each backup).
	RetentionFull int
}

// S3 is an S3-compatible bucket, reached over HTTPS.
type S3 struct {
	Endpoint string // host name the certificate is for
	Port     int    // 0 is 443
	Bucket   string
	Region   string
	// Prefix is the repository's path in the bucket (default /hadron).
	Prefix string
	// CA verifies the endpoint's certificate (PEM); empty uses the system's roots.
	// Install writes it into each member's pgBackRest home (caCopy), where the
	// server's OS user can read it.
	CA             []byte
	Key, KeySecret string
	// PathStyle addresses the bucket in the path, not the host name (stores without
	// wildcard DNS).
	PathStyle bool
	// FromRegions is the store's host:port as a region reaches it, where that is not
	// Endpoint:Port (For picks it for a member's region).
	FromRegions map[string]string
}

// For is r as a member in region reaches it: the S3 endpoint and port of
// S3.FromRegions[region] when there is one. The configuration is written per member
// and pgBackRest runs on the member's machine, so each member's archive_command
// crosses its own region's path to the store, which the lab can cut.
func (r Repo) For(region string) (Repo, error) {
	if r.S3 == nil {
		return r, nil
	}
	addr, ok := r.S3.FromRegions[region]
	if !ok || addr == "" {
		return r, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Repo{}, fmt.Errorf("s3 address from region %s: %w", region, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return Repo{}, fmt.Errorf("s3 address from region %s: port %q is not a TCP port", region, port)
	}
	s3 := *r.S3
	s3.Endpoint, s3.Port = host, p
	r.S3 = &s3
	return r, nil
}

// Stanza is one mirror set's part of the repository, as seen from one member.
type Stanza struct {
	Name string
	// DataDir is the member's data directory, empty for a configuration that only
	// reads the repository; Port its server's TCP port (backups and checks connect
	// there as User).
	DataDir string
	Port    int
	User    string
	// Home is a directory of the member's own for pgBackRest's configuration, lock,
	// log and spool files: beside the data directory, so pg_basebackup never copies it.
	Home string
}

// HomeFor is the pgBackRest directory of the member whose data directory is dataDir.
func HomeFor(dataDir string) string { return filepath.Clean(dataDir) + ".pgbackrest" }

// ConfigPath is the configuration file in a stanza's Home.
func (s Stanza) ConfigPath() string { return filepath.Join(s.Home, "pgbackrest.conf") }

// caCopy is where Install puts the S3 endpoint's CA for s.
func caCopy(s Stanza) string { return filepath.Join(s.Home, "s3-ca.crt") }

// Validate checks r; errors name the field path under field (spec.backup.repository).
func (r Repo) Validate(field string) error {
	switch {
	case r.Path == "" && r.S3 == nil:
		return fmt.Errorf("%s: one of path and s3 is required", field)
	case r.Path != "" && r.S3 != nil:
		return fmt.Errorf("%s: path and s3 exclude each other", field)
	case r.Path != "" && !filepath.IsAbs(r.Path):
		return fmt.Errorf("%s.path: %q is not absolute", field, r.Path)
	case r.CipherPass == "" && !r.Unencrypted:
		return fmt.Errorf("%s.cipherPassFrom: required (a repository is encrypted at rest)", field)
	case r.RetentionFull < 0:
		return fmt.Errorf("%s.retention.full: %d is negative", field, r.RetentionFull)
	}
	if s := r.S3; s != nil {
		for _, f := range []struct{ name, v string }{
			{"endpoint", s.Endpoint}, {"bucket", s.Bucket}, {"region", s.Region},
			{"keyFrom", s.Key}, {"keySecretFrom", s.KeySecret},
		} {
			if f.v == "" {
				return fmt.Errorf("%s.s3.%s: required", field, f.name)
			}
		}
		if s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("%s.s3.port: %d is out of range", field, s.Port)
		}
	}
	return nil
}

// Render is the pgbackrest.conf of stanza s on repo r. It holds the repository's
// secrets (cipher passphrase, S3 keys), so it is written 0600 for the server's OS user
// and never printed; the command lines hadron runs name only its path.
func Render(r Repo, s Stanza) string {
	global := map[string]string{
		"lock-path":                 filepath.Join(s.Home, "lock"),
		"log-path":                  filepath.Join(s.Home, "log"),
		"spool-path":                filepath.Join(s.Home, "spool"),
		"log-level-console":         "warn",
		"log-level-file":            "info",
		"log-level-stderr":          "warn",
		"start-fast":                "y",
		"compress-type":             "zst",
		"archive-timeout":           "60",
		"repo1-bundle":              "y",
		"repo1-retention-full-type": "count",
	}
	if r.RetentionFull > 0 {
		global["repo1-retention-full"] = strconv.Itoa(r.RetentionFull)
	}
	if r.CipherPass != "" {
		global["repo1-cipher-type"] = "aes-256-cbc"
		global["repo1-cipher-pass"] = r.CipherPass
	}
	if r.Path != "" {
		global["repo1-type"] = "posix"
		global["repo1-path"] = r.Path
	}
	if s3 := r.S3; s3 != nil {
		prefix := s3.Prefix
		if prefix == "" {
			prefix = "/hadron"
		}
		global["repo1-type"] = "s3"
		global["repo1-path"] = prefix
		global["repo1-s3-endpoint"] = s3.Endpoint
		global["repo1-s3-bucket"] = s3.Bucket
		global["repo1-s3-region"] = s3.Region
		global["repo1-s3-key"] = s3.Key
		global["repo1-s3-key-secret"] = s3.KeySecret
		if s3.PathStyle {
			global["repo1-s3-uri-style"] = "path"
		}
		if s3.Port != 0 {
			global["repo1-storage-port"] = strconv.Itoa(s3.Port)
		}
		if len(s3.CA) > 0 {
			global["repo1-storage-ca-file"] = caCopy(s)
		}
	}
	// No data directory: a configuration that only reads the repository (info).
	stanza := map[string]string{}
	if s.DataDir != "" {
		stanza["pg1-path"] = s.DataDir
	}
	if s.Port != 0 {
		stanza["pg1-port"] = strconv.Itoa(s.Port)
	}
	if s.User != "" {
		stanza["pg1-user"] = s.User
	}
	var b strings.Builder
	b.WriteString("# Written by hadron for mirror set " + s.Name + "; holds secrets (0600).\n")
	section(&b, "global", global)
	section(&b, s.Name, stanza)
	return b.String()
}

func section(b *strings.Builder, name string, kv map[string]string) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(b, "\n[%s]\n", name)
	for _, k := range keys {
		fmt.Fprintf(b, "%s=%s\n", k, kv[k])
	}
}

// ServerSettings are the archiving parameters of a member whose stanza is s: the
// primary archives, whichever member it is (see the package comment); archiveTimeout
// bounds how long a written transaction can wait for its segment to be archived on
// an idle server (the archive interval of the RPO bound), in seconds.
func ServerSettings(s Stanza, archiveTimeout int) map[string]string {
	return map[string]string{
		"archive_mode":    "on",
		"archive_command": command(s) + " archive-push %p",
		"archive_timeout": strconv.Itoa(archiveTimeout),
	}
}

// command is the pgbackrest invocation for s inside a server's shell command
// (archive_command, restore_command): paths quoted for /bin/sh.
func command(s Stanza) string {
	return "pgbackrest --config=" + shellQuote(s.ConfigPath()) + " --stanza=" + shellQuote(s.Name)
}

func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
