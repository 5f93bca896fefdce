package coord

import "errors"

var (
	// ErrFenced is returned when a fencing token is no longer the current leader's: the
	// holder was deposed and must not act.
	ErrFenced = errors.New("fencing token is stale: no longer the leader")
	// ErrNoPeer is returned when the fleet gives a daemon site no etcd peer address.
	ErrNoPeer = errors.New("site has no spec.daemon.peer")
	// ErrNotMember is returned when the local site is not one of the fleet's daemons.
	ErrNotMember = errors.New("site has no daemon in the fleet")
	// ErrNoCAKey is returned when certificates are missing and the CA's key is not there
	// to issue them.
	ErrNoCAKey = errors.New("no CA key")
	// ErrNoQuorum is returned when the etcd cluster has no reachable majority.
	ErrNoQuorum = errors.New("no etcd quorum")
	// ErrNoRaftLeader is returned when the etcd cluster has no raft leader right now.
	ErrNoRaftLeader = errors.New("no raft leader")
)
