package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// alterSystemSQL is ALTER SYSTEM SET name = value, or RESET when value is empty. ALTER
// SYSTEM takes no parameters; the value is quoted as an escape string literal, which
// reads the same whatever standard_conforming_strings says. It may hold a password
// (primary_conninfo): never log it.
func alterSystemSQL(name, value string) (string, error) {
	if strings.ContainsRune(name, 0) || strings.ContainsRune(value, 0) {
		return "", fmt.Errorf("alter system %s: a NUL byte in the name or value", name)
	}
	id := pgx.Identifier{name}.Sanitize()
	if value == "" {
		return "alter system reset " + id, nil
	}
	return "alter system set " + id + " = " + quoteLiteral(value), nil
}

// quoteLiteral quotes s as an escape string literal (E'...'), which reads the same
// whatever standard_conforming_strings says. s must hold no NUL byte.
func quoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// setting is one ALTER SYSTEM: name = value, RESET when value is empty.
type setting struct{ name, value string }

// reconfigure writes settings with ALTER SYSTEM and reloads the configuration, all in
// one round trip. The reload is asynchronous: a session applies it at its next
// statement once the postmaster has signalled it.
func reconfigure(ctx context.Context, conn *pgx.Conn, settings ...setting) error {
	stmts := make([]string, 0, len(settings)+1)
	for _, st := range settings {
		stmt, err := alterSystemSQL(st.name, st.value)
		if err != nil {
			return err
		}
		stmts = append(stmts, stmt)
	}
	if _, err := pipelined(ctx, conn, append(stmts, `select pg_reload_conf()`)...); err != nil {
		return fmt.Errorf("reconfigure: %w", err)
	}
	return nil
}

// pipelined runs stmts (no parameters) in order in one round trip, each in a
// transaction of its own (a sync after each: ALTER SYSTEM refuses a transaction
// block). A member in another region costs one round trip for all of them instead of
// one each. Every statement runs even when an earlier one failed; the first error is
// returned. It returns the first column of each statement's first row as text ("" when
// none).
func pipelined(ctx context.Context, conn *pgx.Conn, stmts ...string) ([]string, error) {
	p := conn.PgConn().StartPipeline(ctx)
	for _, s := range stmts {
		p.SendQueryParams(s, nil, nil, nil, nil)
		p.SendPipelineSync()
	}
	out := make([]string, len(stmts))
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if err := p.Flush(); err != nil {
		keep(err)
		_ = p.Close()
		return out, fmt.Errorf("pipeline: %w", first)
	}
	for i, syncs := 0, 0; syncs < len(stmts); {
		res, err := p.GetResults()
		if err != nil {
			keep(err)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				break // the connection failed: nothing more will come
			}
			i++ // this statement's error; its sync comes next
			continue
		}
		switch r := res.(type) {
		case *pgconn.ResultReader:
			for r.NextRow() {
				if vals := r.Values(); out[i] == "" && len(vals) > 0 {
					out[i] = string(vals[0])
				}
			}
			_, err := r.Close()
			keep(err)
			i++
		case *pgconn.PipelineSync:
			syncs++
		case nil:
			syncs = len(stmts)
		}
	}
	keep(p.Close())
	if first != nil {
		return out, fmt.Errorf("pipeline: %w", first)
	}
	return out, nil
}
