package probe

import "errors"

// ErrUnknownType is returned for a health check type hadron does not implement.
var ErrUnknownType = errors.New("unknown probe type")

// ErrUnknownSite is returned when an application names a site the fleet lacks.
var ErrUnknownSite = errors.New("unknown site")
