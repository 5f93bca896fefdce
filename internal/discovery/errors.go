package discovery

import "errors"

var (
	// ErrNoAddress is an exported Service with no address other sites can use.
	ErrNoAddress = errors.New("exported service has no address")
	// ErrUnreachable is an imported Service that does not answer a TCP connect.
	ErrUnreachable = errors.New("imported service does not answer")
)
