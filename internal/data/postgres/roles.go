package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The replication role streams WAL, clones (pg_basebackup) and rewinds (pg_rewind).
// Its password sits in a passfile beside every member's data directory, readable by
// the server's OS user, so it must not be the superuser's: it is derived from the
// superuser's password (an HMAC), which every hadron process of the set already
// reads, and gives nothing back about it.
func replicationPassword(superuserPassword string) string {
	h := hmac.New(sha256.New, []byte(superuserPassword))
	h.Write([]byte("hadron replication role v1"))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// rewindGrants are what pg_rewind needs of a role that is not a superuser
// (PostgreSQL 15's pg_rewind documentation); nothing else is granted.
var rewindGrants = []string{
	`pg_catalog.pg_ls_dir(text, boolean, boolean)`,
	`pg_catalog.pg_stat_file(text, boolean)`,
	`pg_catalog.pg_read_binary_file(text)`,
	`pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)`,
}

// roleStatements create or reset the replication role: LOGIN and REPLICATION, no
// other attribute, its password as a SCRAM verifier (no plaintext in the statement),
// and pg_rewind's grants. Running them again resets attributes a person may have
// added and the password to the derived one.
func roleStatements(role, verifier string) []string {
	id := pgx.Identifier{role}.Sanitize()
	attrs := "login replication nosuperuser nocreatedb nocreaterole nobypassrls noinherit password " + quoteLiteral(verifier)
	out := []string{
		fmt.Sprintf(`do $$ begin
			if not exists (select 1 from pg_roles where rolname = %s) then create role %s; end if;
		end $$`, quoteLiteral(role), id),
		"alter role " + id + " with " + attrs,
	}
	for _, f := range rewindGrants {
		out = append(out, "grant execute on function "+f+" to "+id)
	}
	return out
}

// prepareRoles runs roleStatements for the set's replication role on a primary.
func (d *Driver) prepareRoles(ctx context.Context, conn *pgx.Conn) error {
	v, err := newScramVerifier(replicationPassword(d.cfg.Password))
	if err != nil {
		return err
	}
	for _, q := range roleStatements(d.replUser(), v) {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("replication role %s: %w", d.replUser(), err)
		}
	}
	return nil
}
