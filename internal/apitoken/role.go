// Package apitoken is who may call the daemons' API: named tokens, each holding roles,
// kept in etcd as SHA-256 hashes of their secrets (the secret itself is shown once, at
// creation), and the rule that says whether the roles a token holds grant the one a
// route needs.
package apitoken

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a power over the API.
type Role string

// The roles. A route needs exactly one; a token holds one or more.
const (
	// Read sees: status, runs, history, previews, metrics.
	Read Role = "read"
	// Operate acts: switchover, failover, failback, resume, abort, drills and
	// recording an action taken outside the daemons.
	Operate Role = "operate"
	// Daemon is what one daemon needs of another's API. The daemons share everything
	// through etcd and call no peer route today; the role exists so that a daemon's
	// token, when one is issued, holds only that and read.
	Daemon Role = "daemon"
	// Admin manages the tokens themselves.
	Admin Role = "admin"
)

// Roles are every role, in the order they are documented.
var Roles = []Role{Read, Operate, Daemon, Admin}

// implies lists what a role carries besides itself: whoever may act or manage may
// also look. Nothing implies operate or admin.
var implies = map[Role][]Role{
	Operate: {Read},
	Daemon:  {Read},
	Admin:   {Read},
}

// Grants says whether a token holding held may call a route that needs need.
func Grants(held []Role, need Role) bool {
	for _, r := range held {
		if r == need || slices.Contains(implies[r], need) {
			return true
		}
	}
	return false
}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("%w: unknown role %q (want one of %s)", ErrInvalid, s, JoinRoles(Roles))
	}
	return r, nil
}

// ParseRoles parses and deduplicates roles, sorted in Roles' order; at least one.
func ParseRoles(ss []string) ([]Role, error) {
	var out []Role
	for _, s := range ss {
		for _, part := range strings.Split(s, ",") {
			r, err := ParseRole(part)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: a token needs a role (one of %s)", ErrInvalid, JoinRoles(Roles))
	}
	slices.SortFunc(out, func(a, b Role) int { return slices.Index(Roles, a) - slices.Index(Roles, b) })
	return out, nil
}

// JoinRoles writes roles as "read+operate" ("none" for none).
func JoinRoles(roles []Role) string {
	if len(roles) == 0 {
		return "none"
	}
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, "+")
}
