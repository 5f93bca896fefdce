package readiness

import (
	"strings"
	"testing"

	"hadron.dev/hadron/internal/api"
)

func TestArchiveFinding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a     *api.ArchiveLag
		level string
		has   []string
	}{
		{"no repository", nil, "", nil},
		{"within the bound", &api.ArchiveLag{Primary: "east-0", LagBytes: 4096, WaitingSegments: 1, WaitingSeconds: 3, Bound: "2m0s"},
			"ok", []string{"archive lag 4096 bytes", "1 WAL files waiting", "bound 2m0s"}},
		{"over the bound", &api.ArchiveLag{Primary: "east-0", LagBytes: 50331648, WaitingSegments: 3, WaitingSeconds: 185.4, Bound: "2m0s", OverBound: true,
			FailedCount: 12, LastFailed: "000000010000000000000004"},
			"warn", []string{"oldest of 3 WAL files on east-0 has waited 3m5s", "bound 2m0s", "50331648 bytes", "failed 12 times (last on 000000010000000000000004)"}},
		{"unreadable", &api.ArchiveLag{Bound: "2m0s", Error: "no primary found"}, "warn", []string{"archive lag unknown: no primary found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ArchiveFinding("shop-db", tc.a)
			if tc.level == "" {
				if f != nil {
					t.Fatalf("a finding without a repository: %+v", f)
				}
				return
			}
			if f == nil || f.Level != tc.level || f.Check != CheckArchiveLag || !strings.HasPrefix(f.Message, "mirror set shop-db: ") {
				t.Fatalf("finding %+v, want level %s", f, tc.level)
			}
			for _, s := range tc.has {
				if !strings.Contains(f.Message, s) {
					t.Errorf("message %q lacks %q", f.Message, s)
				}
			}
			if (f.Level == "warn") != (f.Action != "") {
				t.Errorf("a warning names an action, an ok does not: %+v", f)
			}
		})
	}
}
