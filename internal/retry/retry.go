// Package retry says whether a failure may pass when tried again: an error is
// wrapped as a RetryableError (a member still catching up, a server restarting) or a
// PermanentError (a token for another system, a wrong password), and callers check
// the kind with errors.As or IsRetryable, never by matching strings.
package retry

import (
	"errors"
	"fmt"
)

// RetryableError is a failure that may pass when tried again later: a member still
// catching up, a connection refused while a server restarts. Check with errors.As.
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// PermanentError is a failure that trying again will not fix: a token for another
// system, a wrong password. Check with errors.As.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Retryable wraps err as a RetryableError with context.
func Retryable(format string, args ...any) error {
	return &RetryableError{Err: fmt.Errorf(format, args...)}
}

// Permanent wraps err as a PermanentError with context.
func Permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsRetryable reports whether err (or an error it wraps) is a RetryableError.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}
