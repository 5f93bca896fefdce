package postgres

import "testing"

func TestDecidePodArchive(t *testing.T) {
	for _, tc := range []struct {
		name          string
		primary       bool
		tli, caughtUp uint64
		due           bool
		want          podArchiveStep
	}{
		{"a stand-by does nothing", false, 0, 0, true, podArchiveStep{}},
		{"a new primary catches up first", true, 1, 0, true, podArchiveStep{catchUp: true}},
		{"a promotion to a new timeline catches up again, before any backup", true, 3, 2, true, podArchiveStep{catchUp: true}},
		{"caught up and due: backup check", true, 3, 3, true, podArchiveStep{backup: true}},
		{"caught up, not due: nothing", true, 3, 3, false, podArchiveStep{}},
	} {
		if got := decidePodArchive(tc.primary, tc.tli, tc.caughtUp, tc.due); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
