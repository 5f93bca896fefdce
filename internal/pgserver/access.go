package pgserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Access says who may log in over TCP; it is the data directory's pg_hba.conf.
type Access struct {
	// AllowCIDRs are the client networks allowed to log in, for both normal and
	// replication connections (default 127.0.0.0/8 and ::1/128).
	AllowCIDRs []string
	// RequireTLS admits only connections over TLS: a clear connection, replication
	// or not, meets a reject line whatever its user.
	RequireTLS bool
	// ReplicationUser is the only role that may open a replication connection
	// (streaming, pg_basebackup); empty allows every role with REPLICATION.
	ReplicationUser string
}

// HBA is the pg_hba.conf text for a. First match wins, so the reject lines come last
// and catch what the accepted shapes did not: another network, another replication
// role, or (with RequireTLS) no TLS.
func HBA(a Access) (string, error) {
	cidrs := a.AllowCIDRs
	if len(cidrs) == 0 {
		cidrs = []string{"127.0.0.0/8", "::1/128"}
	}
	repl := "all"
	if a.ReplicationUser != "" {
		if strings.ContainsAny(a.ReplicationUser, "\"\n\r\t") {
			return "", fmt.Errorf("replication user %q: quotes and control characters cannot be written in pg_hba.conf", a.ReplicationUser)
		}
		repl = `"` + a.ReplicationUser + `"`
	}
	conn := "host"
	var b strings.Builder
	if a.RequireTLS {
		conn = "hostssl"
		b.WriteString("# Written by hadron: SCRAM logins over TLS only; connections without TLS are refused.\n")
	} else {
		b.WriteString("# Written by hadron: password (SCRAM) logins over TCP only.\n")
	}
	for _, c := range cidrs {
		fmt.Fprintf(&b, "%s replication %s %s scram-sha-256\n", conn, repl, c)
		fmt.Fprintf(&b, "%s all all %s scram-sha-256\n", conn, c)
	}
	b.WriteString("host replication all all reject\n")
	if a.RequireTLS {
		b.WriteString("hostnossl all all all reject\n")
	}
	return b.String(), nil
}

// WriteAccess writes dir's pg_hba.conf for a. A running server reads it on its next
// reload (Reload).
func WriteAccess(dir string, a Access) error {
	text, err := HBA(a)
	if err != nil {
		return fmt.Errorf("access to %s: %w", dir, err)
	}
	path := filepath.Join(dir, "pg_hba.conf")
	tmp, err := writeOwned(dir, ".pg_hba.conf.*", text)
	if err != nil {
		return fmt.Errorf("access to %s: %w", dir, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("access to %s: %w", dir, err)
	}
	return nil
}
