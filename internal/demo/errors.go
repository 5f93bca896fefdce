package demo

import "errors"

var (
	// ErrReadOnly: the database member refuses writes (a standby, or a fenced primary).
	ErrReadOnly = errors.New("database is read-only")
	// ErrSchemaNotReady: the table was not created yet (the primary was unreachable).
	ErrSchemaNotReady = errors.New("schema not created yet")
	// ErrConflict: a concurrent write of the same client and seq is in flight.
	ErrConflict = errors.New("concurrent write of the same seq")
	// ErrUnavailable: the in-memory store was set down (tests).
	ErrUnavailable = errors.New("database unavailable")
)
