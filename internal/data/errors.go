package data

import (
	"errors"

	"hadron.dev/hadron/internal/retry"
)

// Sentinels, wrapped with context by drivers; test with errors.Is.
var (
	ErrBadLSN          = errors.New("malformed WAL position")
	ErrUnknownMember   = errors.New("no such member")
	ErrUnreachable     = errors.New("member unreachable")
	ErrAuth            = errors.New("authentication failed")
	ErrNoPrimary       = errors.New("no primary found")
	ErrAlreadyPrimary  = errors.New("member is already the primary")
	ErrNotFenced       = errors.New("member is not fenced")
	ErrOvertaken       = errors.New("another primary took over")
	ErrTokenMismatch   = errors.New("promotion token does not match the member")
	ErrStaleFencing    = errors.New("fencing token older than one already used")
	ErrBehind          = errors.New("member has not replayed the required position")
	ErrDataLoss        = errors.New("promotion would lose data")
	ErrNotManaged      = errors.New("member has no local data directory")
	ErrNoCandidate     = errors.New("no member can be promoted")
	ErrSplitBrain      = errors.New("more than one member accepts writes")
	ErrPasswordMissing = errors.New("password not available")
)

// TokenAllows decides whether an action carrying token may act on member, which has
// stored the highest token that acted on it before: a lower token is a deposed
// leader's and is refused (permanent, naming both tokens). A safe action — a fence,
// which only takes writes away — with token 0 is a daemon fencing its own cut-off
// region without leadership: it is always allowed (and raises nothing).
func TokenAllows(member string, stored, token int64, safe bool) error {
	if safe && token == 0 {
		return nil
	}
	if token < stored {
		return retry.Permanent("%s: %w: the member has seen fencing token %d, this request carries %d",
			member, ErrStaleFencing, stored, token)
	}
	return nil
}
