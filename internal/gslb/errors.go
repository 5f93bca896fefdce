package gslb

import "errors"

var (
	// ErrNoDNS is returned when no application of the fleet has DNS names.
	ErrNoDNS = errors.New("no application has spec.dns")
	// ErrNameOutsideZone is returned for a name that is not inside its zone.
	ErrNameOutsideZone = errors.New("name is not inside the zone")
	// ErrUnknownSite is returned when an application names a site the fleet lacks.
	ErrUnknownSite = errors.New("unknown site")
	// ErrBadAddress is returned for a load-balancer address that is neither host:port
	// nor a host.
	ErrBadAddress = errors.New("bad load-balancer address")
)
