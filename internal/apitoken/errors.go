package apitoken

import "errors"

var (
	// ErrInvalid is a token name or role that cannot be used.
	ErrInvalid = errors.New("invalid token")
	// ErrExists is a create of a name already taken.
	ErrExists = errors.New("token exists")
	// ErrNoToken is a revoke of a name that no token has.
	ErrNoToken = errors.New("no such token")
	// ErrUnknown is a secret that no token has (or one revoked).
	ErrUnknown = errors.New("unknown token")
	// ErrNotLoaded is a secret checked before the daemon has read the tokens from etcd
	// once: it may be valid, the daemon cannot say yet.
	ErrNotLoaded = errors.New("tokens not loaded from etcd yet")
)
