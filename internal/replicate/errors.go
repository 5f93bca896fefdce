package replicate

import "errors"

var (
	// ErrBadRule is a fleet rule that cannot be compiled (a bad name pattern or patch).
	ErrBadRule = errors.New("bad replication rule")
	// ErrPatch is a rule whose patch does not apply to an object.
	ErrPatch = errors.New("patch does not apply")
	// ErrNoActive is an application whose active site is unknown or has no cluster.
	ErrNoActive = errors.New("no active site")
	// ErrUnknownKind is a kind that the active site does not serve.
	ErrUnknownKind = errors.New("kind not served")
)
