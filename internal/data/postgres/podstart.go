package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/pgserver"
)

// PodInstruction is what hadron wrote for the members in pods (MemberPods): the
// primary every member follows, and a rebuild asked of this member.
type PodInstruction struct {
	// Primary is the member hadron named primary last.
	Primary string
	// Rebuild is a request to make this member a stand-by of Primary by pg_rewind, or
	// by a fresh clone (RebuildRequest); the pod carries each request out once
	// (PodDir.Rebuilt).
	Rebuild string
}

// PodDir is what a member's pod finds on its volume at start.
type PodDir struct {
	Initialized bool
	// Standby: standby.signal is there (the directory starts in recovery).
	Standby bool
	// Rebuilt is the last rebuild request carried out (rebuiltMarker).
	Rebuilt string
}

// PodStart is what a member's pod does to its data directory before it runs the server.
type PodStart string

const (
	// PodInitdb makes a new primary: initdb and hadron's settings.
	PodInitdb PodStart = "initdb"
	// PodClone copies the primary with pg_basebackup into an empty directory.
	PodClone PodStart = "clone"
	// PodRewind rewinds onto the primary (pg_rewind), a fresh clone when that fails.
	PodRewind PodStart = "rewind"
	// PodReclone replaces the directory with a fresh clone of the primary.
	PodReclone PodStart = "reclone"
	// PodFollow points a stand-by at the primary hadron named.
	PodFollow PodStart = "follow"
	// PodHold starts a primary that ran before as a stand-by of nobody: hadron has not
	// said whether it may write again, and its synchronous member may be promoted
	// meanwhile. A later rejoin repoints it, or asks the pod to rewind.
	PodHold PodStart = "hold"
	// PodAsIs starts the directory as it is (a stand-by hadron named primary: its
	// promotion is hadron's business, over SQL).
	PodAsIs PodStart = "start"
)

// ErrNoPrimaryNamed: an empty volume and no primary to become or to clone.
var ErrNoPrimaryNamed = errors.New("no primary named for the members in pods")

// DecidePodStart is the pure choice of a member's pod at start: self is the member,
// dir what its volume holds, in what hadron wrote.
func DecidePodStart(self string, dir PodDir, in PodInstruction) (PodStart, error) {
	switch {
	case in.Primary == "":
		if dir.Initialized {
			return PodHold, nil
		}
		return "", ErrNoPrimaryNamed
	case !dir.Initialized && in.Primary == self:
		return PodInitdb, nil
	case !dir.Initialized:
		return PodClone, nil
	case in.Primary != self && in.Rebuild != "" && in.Rebuild != dir.Rebuilt:
		if f := strings.Fields(in.Rebuild); len(f) > 1 && f[1] == "fresh" {
			return PodReclone, nil
		}
		return PodRewind, nil
	case !dir.Standby && in.Primary == self:
		return PodHold, nil
	case !dir.Standby:
		// A former primary: its timeline forked from the new primary's.
		return PodRewind, nil
	case in.Primary == self:
		return PodAsIs, nil
	}
	return PodFollow, nil
}

// rebuiltMarker is beside the data directory (a clone replaces the directory): the
// rebuild request last carried out, so a pod that restarts does not rewind again.
func rebuiltMarker(dataDir string) string { return filepath.Clean(dataDir) + ".rebuilt" }

// RebuildRequest is a rebuild request as PodInstruction.Rebuild and the marker spell
// it: "<primary> rewind|fresh <id>", id telling one request from the next (a time).
func RebuildRequest(primary string, fresh bool, id string) string {
	how := "rewind"
	if fresh {
		how = "fresh"
	}
	return primary + " " + how + " " + id
}

// ReadPodDir reads what a member's pod decides on.
func ReadPodDir(dataDir string) PodDir {
	out := PodDir{Initialized: initialized(dataDir)}
	if _, err := os.Stat(filepath.Join(dataDir, "standby.signal")); err == nil {
		out.Standby = true
	}
	if b, err := os.ReadFile(rebuiltMarker(dataDir)); err == nil {
		out.Rebuilt = strings.TrimSpace(string(b))
	}
	return out
}

// PrepareInPod runs in member's pod before its server starts (`hadron data
// member-start`): it makes the data directory right for what hadron named (in) and
// returns what it did. The driver is the pod's own, with member's DataDir set to the
// volume and Region its region, so every other member is dialled as from there. The
// same code as for local members does the work: pgserver.Init, clone, pg_rewind,
// configureStandby, installTLS, the passfile, installArchiving.
func (d *Driver) PrepareInPod(ctx context.Context, member string, in PodInstruction) (PodStart, error) {
	m, err := d.member(member)
	if err != nil {
		return "", err
	}
	if m.DataDir == "" {
		return "", fmt.Errorf("prepare %s: no data directory", member)
	}
	dir := ReadPodDir(m.DataDir)
	act, err := DecidePodStart(member, dir, in)
	if err != nil {
		return "", fmt.Errorf("prepare %s: %w", member, err)
	}
	d.log.Info("member pod start", "member", member, "action", act, "primary", in.Primary, "initialized", dir.Initialized, "standby", dir.Standby)
	if err := d.writePassfile(m.DataDir); err != nil {
		return act, fmt.Errorf("prepare %s: %w", member, err)
	}
	primary := d.members[in.Primary]
	switch act {
	case PodInitdb:
		err = pgserver.Init(ctx, m.DataDir, pgserver.InitOptions{Superuser: d.user(), Password: d.cfg.Password, Access: d.access()})
	case PodClone:
		err = d.cloneUntil(ctx, m, primary)
	case PodRewind, PodReclone:
		err = d.rebuildInPod(ctx, m, primary, act == PodReclone)
		if err == nil && in.Rebuild != "" {
			err = os.WriteFile(rebuiltMarker(m.DataDir), []byte(in.Rebuild+"\n"), 0o600)
		}
	case PodFollow:
		err = d.configureStandby(m, primary.Name)
	case PodHold:
		err = setAutoConf(m.DataDir, map[string]string{"primary_conninfo": "", "synchronous_standby_names": ""})
		if err == nil {
			err = touch(m.DataDir, "standby.signal")
		}
	}
	if err != nil {
		return act, fmt.Errorf("prepare %s (%s): %w", member, act, err)
	}
	// At every start, as StartMember does for local members: a clone or a rewind
	// copies pg_hba.conf and settings from the primary.
	if err := d.installTLS(ctx, m, m.DataDir, true); err != nil {
		return act, fmt.Errorf("prepare %s: %w", member, err)
	}
	if err := pgserver.WriteAccess(m.DataDir, d.access()); err != nil {
		return act, fmt.Errorf("prepare %s: %w", member, err)
	}
	// The member archives from its pod (archive_command, its pgBackRest home beside
	// the data directory), whatever a clone copied from the primary.
	if err := d.installArchiving(member); err != nil {
		return act, fmt.Errorf("prepare %s: %w", member, err)
	}
	return act, nil
}

// cloneUntil clones primary into m's empty directory, again until it works or ctx
// ends: at the set's first start the primary's pod may not answer yet, or its
// replication role may not exist yet (the driver creates it once the primary answers).
func (d *Driver) cloneUntil(ctx context.Context, m, primary v1alpha1.Member) error {
	for {
		if err := os.RemoveAll(m.DataDir); err != nil {
			return err
		}
		err := d.clone(ctx, m, primary)
		if err == nil {
			return nil
		}
		d.log.Warn("clone failed; trying again", "member", m.Name, "from", primary.Name, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}

// rebuildInPod rewinds m's stopped directory onto primary, or clones it afresh (fresh,
// or when pg_rewind fails), and leaves it configured as primary's stand-by.
func (d *Driver) rebuildInPod(ctx context.Context, m, primary v1alpha1.Member, fresh bool) error {
	if !fresh {
		err := d.rewind(ctx, m, primary, false)
		if err == nil {
			return d.configureStandby(m, primary.Name)
		}
		d.log.Warn("pg_rewind failed; cloning afresh", "member", m.Name, "err", err)
	}
	return d.recloneDir(ctx, m, primary)
}
