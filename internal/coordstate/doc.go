// Package coordstate keeps the state the daemons share in etcd and turns it into what
// each daemon acts on: every observer's probe results (observations.go), the leader's
// verdicts and each application's active site as a gslb.Store (store.go), and the
// self-fencing overlay a daemon applies to its own answers when it loses the etcd
// majority (fence.go), and which mirror sets each daemon cannot act on (datareach.go).
// Keys are laid out in coord/keys.go.
package coordstate
