package root

import (
	"runtime/debug"
	"testing"
)

func TestVersionInfo(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}
	for _, tc := range []struct {
		name, version, commit string
		bi                    *debug.BuildInfo
		wantV, wantC          string
	}{
		{"make's linker flags win", "v0.3.0-2-gabc", "fff", stamped, "v0.3.0-2-gabc", "fff"},
		{"go build from a checkout: the VCS stamp", "dev", "", stamped, "dev", "abc123"},
		{"go install of a release", "dev", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0", ""},
		{"no build info", "dev", "", nil, "dev", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Version, Commit = tc.version, tc.commit
			defer func() { Version, Commit = "dev", "" }()
			if v, c := versionInfo(tc.bi); v != tc.wantV || c != tc.wantC {
				t.Fatalf("versionInfo = %q, %q; want %q, %q", v, c, tc.wantV, tc.wantC)
			}
		})
	}
}
