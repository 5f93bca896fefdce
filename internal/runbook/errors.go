package runbook

import (
	"errors"
	"fmt"
)

var (
	// ErrRunOpen is returned when an application already has an open run: only one
	// runbook per application runs at a time.
	ErrRunOpen = errors.New("a runbook is already open for this application")
	// ErrUnknownStep is returned when a stored record names a step this version does not
	// know (a record written by a newer hadron).
	ErrUnknownStep = errors.New("unknown step")
	// ErrBadRecord is returned when an open run's record is missing or cannot be
	// decoded: reading it again will not help.
	ErrBadRecord = errors.New("run record unreadable")
	// ErrUnknownKind is returned for a runbook kind other than failover and switchover.
	ErrUnknownKind = errors.New("unknown runbook kind")
	// ErrNoTarget is returned when the target site has no member that can take over.
	ErrNoTarget = errors.New("no member at the target site can take over")
	// ErrNotReady is returned when a step's pre-check does not hold.
	ErrNotReady = errors.New("pre-check failed")
	// ErrLossBound is returned when an automatic failover would lose more than the
	// mirror set allows.
	ErrLossBound = errors.New("loss above the automatic failover bound")
	// ErrVerify is returned when the target does not pass verification.
	ErrVerify = errors.New("verification failed")
)

// Errors of recording an action taken outside the daemons (RecordOutside).
var (
	// ErrNotOutside is returned for a record that is not a closed outside action on a
	// mirror set of the fleet.
	ErrNotOutside = errors.New("not a closed action outside the daemons")
	// ErrRecorded is returned when the ledger already holds a record with that id.
	ErrRecorded = errors.New("already in the ledger")
)

// ErrNoRun is returned when a run is neither open nor in the ledger.
var ErrNoRun = errors.New("no such run")

// Errors of a person's decision on a stopped run (Retry, Abort).
var (
	// ErrNotFailed is returned when a run to resume or abort is still running.
	ErrNotFailed = errors.New("not failed")
	// ErrRunClosed is returned when a run is no longer open: it is in the ledger, and
	// nothing may change it (a resume, an abort, or an engine's late save).
	ErrRunClosed = errors.New("run is closed")
	// ErrForceNeeded is returned when a run stopped at the automatic loss bound is
	// resumed without force: going on accepts the loss, which only a person decides.
	ErrForceNeeded = errors.New("going on accepts what the run stopped for: force it")
	// ErrRunChanged is returned when a run kept changing while a decision was written.
	ErrRunChanged = errors.New("run changed while the decision was written; try again")
)

// NoDriverError is the failure of every data step of an application whose mirror set
// the acting daemon cannot act on: it has no driver for it (a password it cannot read,
// a set it cannot configure). Skipping the steps, as for an application without a
// mirror set, would complete a failover that fenced and promoted nothing. Data steps
// wrap it as a retry.PermanentError: the run stops, open, for a daemon that can act.
type NoDriverError struct {
	Daemon, Set string
	// Err is why the driver could not be built; it never carries a secret.
	Err error
}

func (e *NoDriverError) Error() string {
	return fmt.Sprintf("daemon %s cannot act on mirror set %s: %v", e.Daemon, e.Set, e.Err)
}

func (e *NoDriverError) Unwrap() error { return e.Err }
