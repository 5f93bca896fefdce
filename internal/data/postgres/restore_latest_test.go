package postgres

import "testing"

// TestPlanRestore: an unattended restore resumes where it stopped and never touches a
// database it did not write.
func TestPlanRestore(t *testing.T) {
	for _, c := range []struct {
		name             string
		answers, primary bool
		mark             string
		holdsDB          bool
		want             restoreAction
	}{
		{"directory gone", false, false, "", false, restoreFiles},
		{"directory holds a database: down, not lost", false, false, "", true, restoreRefuse},
		{"a live member without a mark", true, false, "", true, restoreRunning},
		{"a live primary without a mark", true, true, "", true, restoreRunning},
		{"interrupted while writing the files", false, false, markRestoring, true, restoreRedo},
		{"interrupted while writing, nothing written yet", false, false, markRestoring, false, restoreRedo},
		{"files complete, server not started", false, false, markRestored, true, restoreStart},
		{"files complete, server replaying", true, false, markRestored, true, restoreWait},
		{"promoted, the mark not yet removed", true, true, markRestored, true, restoreFinished},
		{"mark says restored but the directory is gone", false, false, markRestored, false, restoreFiles},
	} {
		if got := planRestore(c.answers, c.primary, c.mark, c.holdsDB); got != c.want {
			t.Errorf("%s: planRestore = %d, want %d", c.name, got, c.want)
		}
	}
}
