package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"hadron.dev/hadron/api/v1alpha1"
)

// A local member's data directory has more than one caretaker: the leader's in-region
// monitor rejoins a member that diverged or came back as a former primary, a runbook's
// rejoin step does, and whoever starts a site again after a fault (Resume: the lab's
// restore) rewinds or clones its members before they may run. Each of these stops the
// server, rewinds or replaces the directory and starts it again; two at once start two
// postmasters on one address and clone into a directory the other is replacing. So
// each holds the member's lock file, beside the data directory, from its first look to
// its last act; the other waits, then looks again and finds the work done.

// memberLockPoll is how often a waiting caretaker tries the lock again.
const memberLockPoll = 100 * time.Millisecond

// lockMember takes m's lock file (m.DataDir + ".lock"), waiting until ctx ends. A
// member without a local data directory, or whose parent directory does not exist
// here, has nothing to guard: unlock is a no-op.
func lockMember(ctx context.Context, m v1alpha1.Member) (unlock func(), err error) {
	if m.DataDir == "" {
		return func() {}, nil
	}
	f, err := os.OpenFile(m.DataDir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", m.Name, err)
	}
	t := time.NewTicker(memberLockPoll)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", m.Name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: another caretaker holds it: %w", m.Name, ctx.Err())
		case <-t.C:
		}
	}
}
