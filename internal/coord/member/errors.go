package member

import "errors"

var (
	// ErrNoPeer is returned when the fleet gives a daemon site no etcd peer address.
	ErrNoPeer = errors.New("site has no spec.daemon.peer")
	// ErrNotMember is returned when the local site is not one of the fleet's daemons.
	ErrNotMember = errors.New("site has no daemon in the fleet")
)
