package coord

import "errors"

var (
	// ErrFenced is returned when a fencing token is no longer the current leader's: the
	// holder was deposed and must not act.
	ErrFenced = errors.New("fencing token is stale: no longer the leader")
	// ErrNoCAKey is returned when certificates are missing and the CA's key is not there
	// to issue them.
	ErrNoCAKey = errors.New("no CA key")
	// ErrNoPKI is returned when a daemon's PKI directory lacks its site's certificate.
	ErrNoPKI = errors.New("no certificate")
	// ErrUnknownBundle is returned when a rotation names neither a daemon site nor the
	// operator's bundle.
	ErrUnknownBundle = errors.New("no daemon site or bundle by that name")
	// ErrNoQuorum is returned when the etcd cluster has no reachable majority.
	ErrNoQuorum = errors.New("no etcd quorum")
	// ErrNoRaftLeader is returned when the etcd cluster has no raft leader right now.
	ErrNoRaftLeader = errors.New("no raft leader")
)
