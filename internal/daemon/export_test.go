package daemon

import "context"

// CheckMainName is the verify step's check of app's main name, for the tests of
// package daemon_test (which run whole daemons).
func (d *Daemon) CheckMainName(app string) func(ctx context.Context, target string) (string, error) {
	return d.checks.mainName(app)
}

// Flap is the quorum losing the majority and getting it back at once, as a short blip
// of the coordination cluster looks to the daemon.
func (d *Daemon) Flap() {
	d.onFence(true)
	d.onFence(false)
}
