package compute

import "errors"

var (
	// ErrUnknownApplication is an application the fleet does not name.
	ErrUnknownApplication = errors.New("application not in the fleet")
	// ErrUnknownSite is a site the fleet does not name.
	ErrUnknownSite = errors.New("site not in the fleet")
	// ErrCapacityMissing is a capacity object of the policy that the site does not have
	// (or whose kind it does not serve).
	ErrCapacityMissing = errors.New("capacity object not found")
	// ErrNotReady is capacity or workloads that did not become ready in time.
	ErrNotReady = errors.New("not ready")
)
