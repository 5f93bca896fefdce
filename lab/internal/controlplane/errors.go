package controlplane

import "errors"

var (
	// ErrInvalidConfig is returned by Run for a Config it cannot start.
	ErrInvalidConfig = errors.New("invalid control-plane config")
	// ErrComponentExited is returned when a component process exits while the site runs.
	ErrComponentExited = errors.New("component exited")
)
