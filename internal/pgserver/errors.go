package pgserver

import "errors"

var (
	// ErrNoOSUser: hadron runs as root and the OS user that runs PostgreSQL is missing.
	ErrNoOSUser = errors.New("postgres OS user missing")
	// ErrNotRunning: no server runs on the data directory.
	ErrNotRunning = errors.New("postgres not running")
	// ErrNotEmpty: initdb needs an empty or absent data directory.
	ErrNotEmpty = errors.New("data directory not empty")
)
