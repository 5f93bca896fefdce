package credentials

import "errors"

// ErrMissing: a certificate or key is not where the fleet says (no file, variable,
// Secret or key). A missing password wraps data.ErrPasswordMissing instead.
var ErrMissing = errors.New("not found")
