package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// backupStatus is what the test reads of `hadron backup status SET -o json`.
type backupStatus struct {
	Archive struct {
		Primary      string `json:"primary"`
		LastArchived string `json:"lastArchived"`
		Lag          int64  `json:"lagBytes"`
		Waiting      int    `json:"waitingSegments"`
	} `json:"archive"`
	Backups   int    `json:"backups"`
	RepoError string `json:"repositoryError"`
}

// backupStatus reads `hadron backup status shop-db -o json`, giving the repository
// read timeout (through a cut link it waits that long), and returns what it printed
// for a failure's message.
func (h *hadronCLI) backupStatus(timeout time.Duration) (backupStatus, string) {
	out, errOut, err := h.run(time.Minute, "backup", "status", "shop-db", "-f", h.fleet, "--timeout", timeout.String(), "-o", "json")
	st, derr := decode[backupStatus]("backup status", out, err)
	return st, fmt.Sprintf("%s%s%v", out, errOut, derr)
}

// archivesToTheObjectStore checks the lab's backups (docs/design/backups.md, "The
// lab's object store"): the demo's set archives to the store in the witness's region
// and the leader has taken the first full backup by itself; a cut of east's link to
// the store holds back east's archiving (segments wait, the repository is unreadable
// from east) and nothing else; after the heal the waiting segments reach the store.
// Needs shop-db's primary at east.
func archivesToTheObjectStore(t *testing.T, l *lab) {
	h := newHadronCLI(t, l.dir)
	// A short timeout: through a cut link the repository read waits for it.
	status := func() (backupStatus, string) { return h.backupStatus(10 * time.Second) }
	// pg_switch_wal finishes the current segment, so one is ready to archive at once
	// rather than after archiveTimeout; a new ready segment also wakes an archiver
	// that is waiting out its retry pause.
	st := l.status()
	var primary string
	for _, m := range st.Databases {
		if m.Name == "east-0" {
			primary = m.Address
		}
	}
	switchWAL := func() {
		t.Helper()
		host, port, _ := net.SplitHostPort(primary)
		cmd := exec.Command("psql", fmt.Sprintf("host=%s port=%s dbname=shop user=hadron sslmode=require connect_timeout=5", host, port),
			"-Atc", "create table if not exists e2e_archive(n int); insert into e2e_archive values (1); select pg_switch_wal()")
		cmd.Env = append(os.Environ(), "PGPASSFILE="+filepath.Join(l.dir, "pg", "demo.pgpass"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql at %s: %v\n%s", primary, err, out)
		}
	}
	eventually(t, 3*time.Minute, "the first full backup in the store, nothing waiting", func() (bool, string) {
		st, raw := status()
		return st.Archive.Primary == "east-0" && st.Backups >= 1 && st.Archive.Waiting == 0 && st.RepoError == "", raw
	})

	l.must(time.Minute, "link", "cut", "east", "objectstore")
	switchWAL()
	eventually(t, time.Minute, "east's segments wait while its link to the store is cut", func() (bool, string) {
		st, raw := status()
		return st.Archive.Waiting >= 1 && st.RepoError != "", raw
	})
	l.must(time.Minute, "link", "heal", "east", "objectstore")
	switchWAL()
	eventually(t, time.Minute, "the waiting segments archived after the heal", func() (bool, string) {
		st, raw := status()
		return st.Archive.Waiting == 0 && st.RepoError == "", raw
	})
}
