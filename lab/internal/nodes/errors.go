package nodes

import "errors"

// ErrNotFound is returned when no simulated node has the name or zone asked for.
var ErrNotFound = errors.New("no such lab node")
