// Package demo is the demo application's server: an HTTP front end that writes and reads
// rows in PostgreSQL so that drills can count exactly which acknowledged writes a
// failover lost. The wire format lives in demo/demoapi.
package demo

import (
	"context"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// Store is where the demo keeps its rows: PostgreSQL (PG) in production and in the lab,
// MemStore in unit tests.
type Store interface {
	// Write stores (client, seq) once and returns the row's id and the database address
	// it went through; it returns only after the row is committed. A seq already stored
	// returns the existing id and duplicate=true.
	Write(ctx context.Context, client string, seq int64, site string) (id int64, db string, duplicate bool, err error)
	// Read returns the client's seqs present, as ascending ranges.
	Read(ctx context.Context, client string) (ranges []demoapi.Range, db string, err error)
	// Stats counts the rows (Site is filled by the caller).
	Stats(ctx context.Context) (demoapi.Stats, error)
	// Ping checks that the database accepts writes and returns its address.
	Ping(ctx context.Context) (db string, err error)
}
