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
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/internal/retry"
)

// Rejoin makes member follow the current primary; see data.Driver. A reachable standby
// is repointed (primary_conninfo and slot, then reload); if it does not stream within
// RepointWait, or it is a former primary, or it is down, its local server is stopped,
// rewound with pg_rewind against the primary and restarted as a standby. When pg_rewind
// fails the data directory is cloned afresh with pg_basebackup into a new directory
// that replaces the old one only once the clone succeeded.
//
// The member's lock (lockMember) is held throughout: another caretaker of its data
// directory waits.
func (d *Driver) Rejoin(ctx context.Context, member string) error {
	m, err := d.member(member)
	if err != nil {
		return err
	}
	unlock, err := lockMember(ctx, m)
	if err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	defer unlock()
	return d.rejoin(ctx, m)
}

// rejoin is Rejoin under the member's lock.
func (d *Driver) rejoin(ctx context.Context, m v1alpha1.Member) error {
	member := m.Name
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	if st.Primary == "" {
		return fmt.Errorf("rejoin %s: %w", member, data.ErrNoPrimary)
	}
	if st.Primary == member {
		return retry.Permanent("rejoin %s: %w", member, data.ErrAlreadyPrimary)
	}
	primary := d.members[st.Primary]
	ms := st.Member(member)
	if src := st.Member(primary.Name); ms.Reachable && ms.Primary && ms.Timeline > src.Timeline {
		// Rewinding a primary to an older timeline's primary discards every write of
		// the newer one: the newer is the history, the other an old primary back.
		return retry.Permanent("rejoin %s: it is a primary on timeline %d, newer than %s's %d: rewinding it would discard its writes", member, ms.Timeline, primary.Name, src.Timeline)
	}
	if err := d.slotFor(ctx, primary, member); err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	if ms.Reachable && !ms.Primary && ms.State != data.StateDiverged {
		if ms.Upstream == primary.Name && ms.State == data.StateStreaming && ms.Timeline == st.Member(primary.Name).Timeline {
			return d.updateSync(ctx, primary.Name)
		}
		err := d.repoint(ctx, m, primary.Name)
		if err == nil {
			return d.updateSync(ctx, primary.Name)
		}
		if m.DataDir == "" && !d.inPod(m) {
			return fmt.Errorf("rejoin %s: %w", member, err)
		}
		d.log.Warn("repoint did not stream; rewinding", "member", member, "err", err)
	}
	if d.inPod(m) {
		if err := d.rebuildPod(ctx, m, primary, ms.State == data.StateDiverged); err != nil {
			return fmt.Errorf("rejoin %s: %w", member, err)
		}
		return d.updateSync(ctx, primary.Name)
	}
	if m.DataDir == "" {
		return fmt.Errorf("rejoin %s: %w", member, data.ErrNotManaged)
	}
	if err := d.rewindOrClone(ctx, m, primary, ms.State == data.StateDiverged); err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	err = d.waitStreaming(ctx, []string{member})
	if errors.Is(err, errDiverged) {
		// pg_rewind judges a cleanly stopped standby by its minimum recovery point, which
		// can lag the WAL it replayed past the fork; such a member still diverges after
		// "no rewind required". Only a fresh clone helps then.
		d.log.Warn("rewound member does not follow; cloning afresh", "member", member, "err", err)
		if err := pgserver.Stop(ctx, m.DataDir, pgserver.StopFast); err != nil {
			return fmt.Errorf("rejoin %s: %w", member, err)
		}
		if err := d.reclone(ctx, m, primary); err != nil {
			return fmt.Errorf("rejoin %s: %w", member, err)
		}
		err = d.waitStreaming(ctx, []string{member})
	}
	if err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	if err := clearRejoin(m); err != nil {
		return fmt.Errorf("rejoin %s: %w", member, err)
	}
	return d.updateSync(ctx, primary.Name)
}

// rejoinMarker is beside the data directory (a clone replaces the directory): while it
// exists a rejoin of the member has begun to stop, rewind or clone it and not finished.
func rejoinMarker(m v1alpha1.Member) string { return m.DataDir + ".rejoin" }

// markRejoin records that a rejoin of m is about to take its server down.
func markRejoin(m v1alpha1.Member, primary string) error {
	return os.WriteFile(rejoinMarker(m), []byte(primary+" "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
}

func clearRejoin(m v1alpha1.Member) error {
	if err := os.Remove(rejoinMarker(m)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// rejoinCutOff says m is stopped in the middle of a rejoin: its marker is there and its
// server is not running (a running member is judged by what it answers).
func rejoinCutOff(m v1alpha1.Member) bool {
	if m.DataDir == "" {
		return false
	}
	if _, err := os.Stat(rejoinMarker(m)); err != nil {
		return false
	}
	_, running := pgserver.Running(m.DataDir)
	return !running
}

// RepointWait bounds how long a repointed standby may take to stream.
var RepointWait = 20 * time.Second

// repoint points a running standby at primary and waits until it streams.
func (d *Driver) repoint(ctx context.Context, m v1alpha1.Member, primary string) error {
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	dataDir := m.DataDir
	if dataDir == "" {
		// A member run by someone else: its passfile and CA are beside the data
		// directory its server reports.
		if err := conn.QueryRow(ctx, `select current_setting('data_directory')`).Scan(&dataDir); err != nil {
			return fmt.Errorf("data directory of %s: %w", m.Name, err)
		}
	}
	set := d.standbySettings(m.Name, primary, dataDir)
	var settings []setting
	for _, k := range sortedKeys(set) {
		settings = append(settings, setting{k, set[k]})
	}
	if err := reconfigure(ctx, conn, settings...); err != nil {
		return err
	}
	d.log.Info("repointed", "member", m.Name, "primary", primary)
	wctx, cancel := context.WithTimeout(ctx, RepointWait)
	defer cancel()
	return d.waitStreaming(wctx, []string{m.Name})
}

// slotFor makes sure primary has member's replication slot.
func (d *Driver) slotFor(ctx context.Context, primary v1alpha1.Member, member string) error {
	conn, err := d.connect(ctx, primary, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return d.ensureSlots(ctx, conn, primary.Name)
}

func (d *Driver) rewindOrClone(ctx context.Context, m, primary v1alpha1.Member, diverged bool) error {
	if err := markRejoin(m, primary.Name); err != nil {
		return err
	}
	if err := pgserver.Stop(ctx, m.DataDir, pgserver.StopFast); err != nil {
		if err := pgserver.Kill(ctx, m.DataDir); err != nil {
			return err
		}
	}
	// pg_rewind compares timelines in the control files; a freshly promoted primary
	// records its new timeline there only at its first checkpoint, and until then
	// pg_rewind would answer "no rewind required" for a diverged member.
	if err := d.checkpoint(ctx, primary); err != nil {
		return err
	}
	d.countDiscarded(ctx, m, primary)
	if err := d.rewind(ctx, m, primary, diverged); err == nil {
		if err := d.configureStandby(m, primary.Name); err != nil {
			return err
		}
		if err := d.StartMember(ctx, m.Name); err == nil {
			return nil
		} else {
			d.log.Warn("rewound member did not start; cloning afresh", "member", m.Name, "err", err)
			_ = pgserver.Stop(ctx, m.DataDir, pgserver.StopImmediate)
		}
	} else {
		d.log.Warn("pg_rewind failed; cloning afresh", "member", m.Name, "err", err)
	}
	if err := d.reclone(ctx, m, primary); err != nil {
		if ctx.Err() != nil {
			// Cut off (a leader's term ended, the action's time ran out): a killed
			// pg_rewind may have left the directory half rewritten, so the member
			// stays down with its marker, and the next rejoin — any leader's monitor
			// sees StateRejoining — starts over.
			return err
		}
		// Leave the member running as it was rather than stopped.
		if serr := d.StartMember(ctx, m.Name); serr != nil {
			return errors.Join(err, serr)
		}
		return err
	}
	return nil
}

// rewind runs pg_rewind on m's stopped data directory with primary as its source. A
// member that replayed past the fork (diverged) and gets "no rewind required" is an
// error: only a fresh clone helps it.
func (d *Driver) rewind(ctx context.Context, m, primary v1alpha1.Member, diverged bool) error {
	if err := d.writePassfile(m.DataDir); err != nil {
		return err
	}
	if err := d.installTLS(ctx, m, m.DataDir, false); err != nil {
		return err
	}
	// pg_rewind reads the source as the replication role, which holds only the
	// grants it needs (rewindGrants), not as the superuser.
	src := d.conninfo(primary, d.region(m), d.replUser(), "", m.DataDir)
	out, err := pgserver.Run(ctx, "pg_rewind", toolEnv(m.DataDir), "--target-pgdata", m.DataDir, "--source-server", src)
	if err != nil {
		return err
	}
	if diverged && strings.Contains(string(out), "no rewind required") {
		return fmt.Errorf("pg_rewind found nothing to rewind, but the member replayed past the fork")
	}
	d.log.Info("pg_rewind", "member", m.Name, "from", primary.Name, "output", lastLine(out))
	return nil
}

// reclone replaces m's data directory with a fresh clone of primary, keeping the old
// one until the clone succeeded, and starts it.
func (d *Driver) reclone(ctx context.Context, m, primary v1alpha1.Member) error {
	if err := d.recloneDir(ctx, m, primary); err != nil {
		return err
	}
	return d.StartMember(ctx, m.Name)
}

// recloneDir is reclone without the start (a member's pod starts its own server).
func (d *Driver) recloneDir(ctx context.Context, m, primary v1alpha1.Member) error {
	fresh := m
	fresh.DataDir = m.DataDir + ".clone"
	if err := os.RemoveAll(fresh.DataDir); err != nil {
		return err
	}
	if err := d.clone(ctx, fresh, primary); err != nil {
		os.RemoveAll(fresh.DataDir)
		return err
	}
	old := m.DataDir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(m.DataDir, old); err != nil {
		return err
	}
	if err := os.Rename(fresh.DataDir, m.DataDir); err != nil {
		return errors.Join(err, os.Rename(old, m.DataDir))
	}
	os.RemoveAll(old)
	return nil
}

// configureStandby writes the recovery settings of a stopped member.
func (d *Driver) configureStandby(m v1alpha1.Member, primary string) error {
	if err := setAutoConf(m.DataDir, d.standbySettings(m.Name, primary, m.DataDir)); err != nil {
		return err
	}
	return touch(m.DataDir, "standby.signal")
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

func (d *Driver) checkpoint(ctx context.Context, m v1alpha1.Member) error {
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return fmt.Errorf("checkpoint on %s: %w", m.Name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "checkpoint"); err != nil {
		return fmt.Errorf("checkpoint on %s: %w", m.Name, err)
	}
	return nil
}

// Resume starts a stopped local member after a fault without ever letting it accept
// writes behind the current primary's back: when another member is primary, the
// member is rewound (or cloned) and started as its standby; otherwise it is started
// as it was. The lab calls it when a failed site comes back. It holds the member's lock
// (lockMember) throughout, as Rejoin does.
func (d *Driver) Resume(ctx context.Context, member string) error {
	m, err := d.member(member)
	if err != nil {
		return err
	}
	if m.DataDir == "" {
		return fmt.Errorf("resume %s: %w", member, data.ErrNotManaged)
	}
	unlock, err := lockMember(ctx, m)
	if err != nil {
		return fmt.Errorf("resume %s: %w", member, err)
	}
	defer unlock()
	if _, running := pgserver.Running(m.DataDir); running {
		return nil
	}
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("resume %s: %w", member, err)
	}
	if st.Primary == "" || st.Primary == member {
		return d.StartMember(ctx, member)
	}
	if !initialized(m.DataDir) || !d.wasPrimary(m) {
		// A standby cannot write: start it and let it follow.
		if err := d.StartMember(ctx, member); err != nil {
			return err
		}
		return d.rejoin(ctx, m)
	}
	return d.rejoin(ctx, m)
}

// wasPrimary reports whether a stopped member's data directory would start as a
// primary (no standby.signal).
func (d *Driver) wasPrimary(m v1alpha1.Member) bool {
	_, err := os.Stat(filepath.Join(m.DataDir, "standby.signal"))
	return err != nil
}
