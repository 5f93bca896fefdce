package postgres

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// setAutoConf sets parameters in a stopped server's postgresql.auto.conf (the file
// ALTER SYSTEM writes), replacing earlier lines for the same keys. An empty value
// removes the key. The file may hold a password (primary_conninfo): it stays 0600 and
// owned by the server's OS user.
func setAutoConf(dir string, kv map[string]string) error {
	path := filepath.Join(dir, "postgresql.auto.conf")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(line, "=")
		if _, ok := kv[strings.TrimSpace(key)]; ok {
			continue
		}
		out.WriteString(line + "\n")
	}
	for _, k := range sortedKeys(kv) {
		if kv[k] == "" {
			continue
		}
		// The configuration lexer unescapes backslashes and doubled quotes.
		v := strings.NewReplacer(`\`, `\\`, "'", "''").Replace(kv[k])
		fmt.Fprintf(&out, "%s = '%s'\n", k, v)
	}
	tmp := path + ".hadron"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return err
	}
	if err := chownLike(tmp, dir); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// touch creates an empty file (standby.signal) owned like dir.
func touch(dir, name string) error {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return err
	}
	return chownLike(p, dir)
}

// chownLike gives path the owner of dir (the server's OS user).
func chownLike(path, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	uid, gid := ownerOf(st)
	return os.Chown(path, uid, gid)
}

// initialized reports whether dir holds a database cluster.
func initialized(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "PG_VERSION"))
	return err == nil
}

// standbySettings are the recovery parameters of a member following primary, whose
// data directory is dataDir (for a member hadron does not run, the directory its
// server reports). The password is in no setting: primary_conninfo names the passfile
// beside dataDir, which writePassfile writes for the members hadron runs and whoever
// runs a member puts there for the others.
func (d *Driver) standbySettings(member, primary, dataDir string) map[string]string {
	p := d.members[primary]
	m := d.members[member]
	return map[string]string{
		"primary_conninfo":              d.conninfo(p, d.region(m), d.replUser(), member, dataDir),
		"primary_slot_name":             slotName(member),
		"recovery_target_timeline":      "latest",
		"default_transaction_read_only": "",
		"synchronous_standby_names":     "",
	}
}

// passfile is the pgpass file of the member whose data directory is dir: a sibling,
// so that pg_basebackup and pg_rewind never copy it; absolute, since the WAL receiver
// reads it from inside the data directory.
func passfile(dir string) string { return absDir(dir) + ".pgpass" }

// writePassfile writes the replication role's password for every server beside dir
// (libpq ignores the file unless it is 0600 and owned by the reading user). The
// superuser's password is never in it.
func (d *Driver) writePassfile(dir string) error {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	line := fmt.Sprintf("*:*:*:%s:%s\n", esc.Replace(d.replUser()), esc.Replace(replicationPassword(d.cfg.Password)))
	path := passfile(dir)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(line), 0o600); err != nil {
		return fmt.Errorf("passfile: %w", err)
	}
	if err := chownLike(tmp, dir); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("passfile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("passfile: %w", err)
	}
	return nil
}

// toolEnv is the environment of pg_basebackup and pg_rewind run for the member whose
// data directory is dir: the passfile's path, never a password (PGPASSWORD would show
// in /proc/<pid>/environ to the same user and in core dumps).
func toolEnv(dir string) []string {
	return []string{"PGPASSFILE=" + passfile(dir), "PGCONNECT_TIMEOUT=5"}
}
