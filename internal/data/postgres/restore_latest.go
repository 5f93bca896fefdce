package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/pgserver"
)

// A failover's restore from the archive (data.ArchiveRestorer) runs unattended and may
// be interrupted anywhere — its leader deposed, its daemon killed — and taken up again
// by another leader. So it leaves a mark beside the data directory that says how far it
// got: "restoring" while pgBackRest writes the files (a directory left in that state is
// this restore's own half-written copy, thrown away and written again), "restored" once
// the files are complete (the next attempt only starts the server). The mark goes when
// the member is promoted: a directory without a mark that holds a database is a member
// that is down, not lost, and is never restored over.

// The driver restores for failovers.
var _ data.ArchiveRestorer = (*Driver)(nil)

// restoreMark is the file, beside m's data directory in pgBackRest's home, that says how
// far a restore of m got.
func restoreMark(m v1alpha1.Member) string {
	return filepath.Join(pgbackrest.HomeFor(absDir(m.DataDir)), "restore-state")
}

const (
	markRestoring = "restoring"
	markRestored  = "restored"
)

func readMark(m v1alpha1.Member) string {
	b, err := os.ReadFile(restoreMark(m))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func writeMark(m v1alpha1.Member, state string) error {
	p := restoreMark(m)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(state+"\n"), 0o600)
}

// restoreAction is what an attempt to restore a member from the archive does, given
// what it finds: whether the member answers (and as primary), the mark, and whether
// its data directory holds a database.
type restoreAction int

const (
	restoreRefuse   restoreAction = iota // a database that is not this restore's: down, not lost
	restoreFiles                         // write the files from the archive, then start
	restoreRedo                          // throw this restore's half-written files away, then as restoreFiles
	restoreStart                         // the files are complete: start the server
	restoreWait                          // the restored server runs: wait until it is promoted
	restoreFinished                      // the restored server is primary: only forget the restore
	restoreRunning                       // a server that is not this restore's answers: never touch it
)

// planRestore decides restoreAction (pure, table-tested).
func planRestore(answers, primary bool, mark string, holdsDB bool) restoreAction {
	switch {
	case answers && mark == markRestored && primary:
		return restoreFinished
	case answers && mark == markRestored:
		return restoreWait
	case answers:
		return restoreRunning
	case mark == markRestored && holdsDB:
		return restoreStart
	case mark == markRestoring:
		return restoreRedo
	case holdsDB:
		return restoreRefuse
	}
	return restoreFiles
}

// restoreTimeout bounds pgBackRest's restore within a failover's step.
const restoreTimeout = 10 * time.Minute

// RestoreLatest rebuilds the member at site that hadron runs (restoreMember) from the
// newest backup and the whole archive, starts it and waits until it is promoted, for a
// failover that found no copy of the set alive (data.ArchiveRestorer). It holds the
// member's lock throughout, refuses while any member answers as primary, and can be
// called again after an interruption (see restoreMark).
func (d *Driver) RestoreLatest(ctx context.Context, site string) (data.Restored, error) {
	name, err := restoreMember(d.cfg.Set.Spec.Members, site)
	if err != nil {
		return data.Restored{}, fmt.Errorf("restore %s: %w", d.cfg.Set.Name, err)
	}
	m, _ := d.member(name)
	// A data directory that is absent may only mean the member lives on another
	// machine: restoring here would start a second server that is not the member. The
	// parent directory is what this machine holds of a member it runs (lockMember
	// goes by it too).
	if _, err := os.Stat(filepath.Dir(absDir(m.DataDir))); err != nil {
		return data.Restored{}, fmt.Errorf("restore %s: %s's storage (%s) is not on this machine: %w", d.cfg.Set.Name, name, filepath.Dir(m.DataDir), data.ErrNotManaged)
	}
	unlock, err := lockMember(ctx, m)
	if err != nil {
		return data.Restored{}, err
	}
	defer unlock()
	var answers, primary bool
	if st, err := d.Status(ctx); err == nil {
		if st.Primary != "" && st.Primary != name {
			return data.Restored{}, fmt.Errorf("restore %s: %s answers as primary: a restore rebuilds a set that lost every copy", d.cfg.Set.Name, st.Primary)
		}
		if ms := st.Member(name); ms != nil && ms.Reachable {
			answers, primary = true, ms.Primary
		}
	}
	// A server running here that the status could not reach (a slow start, a cut
	// proxy) is running all the same: never restored over.
	if _, running := pgserver.Running(m.DataDir); running {
		answers = true
	}
	act := planRestore(answers, primary, readMark(m), initialized(m.DataDir))
	res := data.Restored{Member: name, Resumed: act != restoreFiles}
	switch act {
	case restoreRunning:
		return res, fmt.Errorf("restore %s: %s answers: a running server is never restored over", d.cfg.Set.Name, name)
	case restoreRefuse:
		return res, fmt.Errorf("restore %s: %s's data directory %s holds a database: the member is down, not lost; start it, or move the directory away to restore", d.cfg.Set.Name, name, m.DataDir)
	case restoreRedo:
		d.log.Warn("restore: throwing away an interrupted restore's files", "member", name, "dir", m.DataDir)
		if err := os.RemoveAll(m.DataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("restore %s: %w", name, err)
		}
		fallthrough
	case restoreFiles:
		if err := d.restoreFiles(ctx, m); err != nil {
			return res, err
		}
		fallthrough
	case restoreStart:
		if err := d.StartMember(ctx, name); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		fallthrough
	case restoreWait:
		if err := d.waitPromoted(ctx, m); err != nil {
			return res, err
		}
		fallthrough
	case restoreFinished:
		if err := d.forgetRecovery(ctx, m); err != nil {
			return res, fmt.Errorf("restore %s: %w", name, err)
		}
	}
	if err := d.restoredAt(ctx, m, &res); err != nil {
		return res, err
	}
	if err := os.Remove(restoreMark(m)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("restore %s: %w", name, err)
	}
	d.log.Info("restored from the archive", "member", name, "timeline", res.Timeline, "end", res.End, "resumed", res.Resumed)
	return res, nil
}

// RestoreInProgress says whether site's member carries a restore's mark: begun by
// RestoreLatest and not yet promoted.
func (d *Driver) RestoreInProgress(site string) bool {
	name, err := restoreMember(d.cfg.Set.Spec.Members, site)
	if err != nil {
		return false
	}
	m, _ := d.member(name)
	return readMark(m) != ""
}

// restoreFiles writes m's data directory from the archive, to its end, between the
// two marks.
func (d *Driver) restoreFiles(ctx context.Context, m v1alpha1.Member) error {
	r, err := d.backupRunner(m.Name)
	if err != nil {
		return err
	}
	if err := r.Install(); err != nil {
		return fmt.Errorf("restore %s: %w", d.cfg.Set.Name, err)
	}
	if err := writeMark(m, markRestoring); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	d.log.Info("restore from the archive", "member", m.Name)
	if err := d.RestoreTo(ctx, m.Name, m.DataDir, pgbackrest.Target{}, restoreTimeout); err != nil {
		return err
	}
	// The backup names the stand-bys of the set it came from as synchronous; the
	// rebuilt primary has none yet and must not wait for them.
	if err := setAutoConf(m.DataDir, map[string]string{"synchronous_standby_names": ""}); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	if err := writeMark(m, markRestored); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	return nil
}

// restoredAt reads the restored primary's timeline and where it began: the end of the
// archive the restore replayed, from the timeline's history file.
func (d *Driver) restoredAt(ctx context.Context, m v1alpha1.Member, res *data.Restored) error {
	conn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	defer conn.Close(context.Background())
	var walfile string
	if err := conn.QueryRow(ctx, `select pg_walfile_name(pg_current_wal_lsn())`).Scan(&walfile); err != nil {
		return fmt.Errorf("restore %s: reading the timeline: %w", m.Name, err)
	}
	tl, err := strconv.ParseUint(walfile[:8], 16, 32)
	if err != nil {
		return fmt.Errorf("restore %s: timeline of %q: %w", m.Name, walfile, err)
	}
	res.Timeline = int(tl)
	var hist string
	if err := conn.QueryRow(ctx, `select pg_read_file('pg_wal/' || $1 || '.history')`, fmt.Sprintf("%08X", tl)).Scan(&hist); err != nil {
		return fmt.Errorf("restore %s: reading timeline %d's history: %w", m.Name, tl, err)
	}
	sw, err := pgbackrest.ParseHistory(hist)
	if err != nil || len(sw) == 0 {
		return fmt.Errorf("restore %s: timeline %d's history: %v", m.Name, tl, err)
	}
	res.End = sw[len(sw)-1].At
	return nil
}
