package load

import "errors"

// ErrConfig: the load's configuration is invalid.
var ErrConfig = errors.New("invalid load configuration")
