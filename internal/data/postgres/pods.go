package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// MemberPods is whoever runs the members that live in pods (a StatefulSet each, with
// its own volume). The driver never sees their data directories: it decides, records
// the decision where the pod reads it at its start (PodInstruction), and restarts the
// pod; the pod's start step (PrepareInPod) does the work on its own files. This is
// "decide globally, act locally" for the steps SQL cannot do.
type MemberPods interface {
	// SetPrimary records primary as the member every other pod follows from its next
	// start. Promote calls it before it promotes, so a pod that restarts meanwhile
	// never takes itself for the primary.
	SetPrimary(ctx context.Context, primary string) error
	// Rebuild asks member's pod to make itself a stand-by of primary at its next start
	// — pg_rewind, or a fresh clone when fresh or when the rewind fails — and restarts
	// the pod.
	Rebuild(ctx context.Context, member, primary string, fresh bool) error
}

// inPod says m runs in a pod the driver can ask to rebuild itself.
func (d *Driver) inPod(m v1alpha1.Member) bool { return m.DataDir == "" && d.cfg.Pods != nil }

// rebuildPod is rejoin's rewind-or-clone for a member in a pod: the new primary's
// timeline is made durable in its control file (pg_rewind reads it there), the pod is
// asked to rewind and restarted, and the driver waits until the member streams. A
// member that still diverges after "no rewind required" (a cleanly stopped stand-by
// judged by its minimum recovery point, as for local members) is cloned afresh.
func (d *Driver) rebuildPod(ctx context.Context, m, primary v1alpha1.Member, diverged bool) error {
	if err := d.checkpoint(ctx, primary); err != nil {
		return err
	}
	d.countDiscarded(ctx, m, primary)
	d.log.Info("asking the member's pod to rewind", "member", m.Name, "primary", primary.Name)
	if err := d.cfg.Pods.Rebuild(ctx, m.Name, primary.Name, false); err != nil {
		return fmt.Errorf("rebuild pod of %s: %w", m.Name, err)
	}
	err := d.waitStreaming(ctx, []string{m.Name})
	if errors.Is(err, errDiverged) {
		d.log.Warn("rewound member does not follow; asking its pod for a fresh clone", "member", m.Name, "err", err)
		if err := d.cfg.Pods.Rebuild(ctx, m.Name, primary.Name, true); err != nil {
			return fmt.Errorf("rebuild pod of %s: %w", m.Name, err)
		}
		err = d.waitStreaming(ctx, []string{m.Name})
	}
	return err
}

// bootstrapPodPrimary is Bootstrap's first half for a primary in a pod: the pod made
// the data directory (initdb) when it found itself named primary; the driver waits
// until it answers and creates over SQL what every member needs (roles, database,
// slots). The pods of the stand-bys clone it by themselves once the replication role
// exists.
func (d *Driver) bootstrapPodPrimary(ctx context.Context, p v1alpha1.Member) error {
	if err := d.cfg.Pods.SetPrimary(ctx, p.Name); err != nil {
		return err
	}
	var last error
	err := pollUntil(ctx, 5*time.Minute, func(ctx context.Context) (bool, error) {
		last = d.preparePrimary(ctx, p)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the pod of %s: %w (last: %v)", p.Name, err, last)
	}
	return nil
}
