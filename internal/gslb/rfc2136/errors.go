package rfc2136

import (
	"errors"

	"github.com/miekg/dns"
)

// ErrConfig is returned for an incomplete configuration.
var ErrConfig = errors.New("incomplete configuration")

// RcodeError is a refused update; YXRRSET and NXRRSET mean a prerequisite failed
// (someone changed the record set since it was read).
type RcodeError struct{ Rcode int }

func (e *RcodeError) Error() string { return "server answered " + dns.RcodeToString[e.Rcode] }

// PrerequisiteFailed reports whether the zone changed under the plan.
func (e *RcodeError) PrerequisiteFailed() bool {
	return e.Rcode == dns.RcodeYXRrset || e.Rcode == dns.RcodeNXRrset || e.Rcode == dns.RcodeYXDomain || e.Rcode == dns.RcodeNameError
}
