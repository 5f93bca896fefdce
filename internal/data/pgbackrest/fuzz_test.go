package pgbackrest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseInfo: pgbackrest's output is outside input; no bytes make the parser
// panic, and what it accepts has labels and known types only.
func FuzzParseInfo(f *testing.F) {
	for _, name := range []string{"info-full-incr-diff.json", "info-no-backups.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"name":"orders","backup":[{"label":"x","type":"full","prior":null}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseInfo(b, "orders")
		if err != nil {
			return
		}
		for _, bk := range info.Backups {
			if bk.Label == "" || (bk.Type != Full && bk.Type != Diff && bk.Type != Incr) {
				t.Fatalf("accepted %+v", bk)
			}
		}
	})
}

// FuzzParseHistory: a history file read from pg_wal never makes the parser panic,
// and no switch it yields makes CatchUpSegments pick a segment that ends past it.
func FuzzParseHistory(f *testing.F) {
	f.Add("1\t0/7000A28\tno recovery target specified\n")
	f.Add("# c\n2\t1/2000000\tx\n3\tFFFFFFFF/FFFFFFFF\n")
	f.Fuzz(func(t *testing.T, s string) {
		switches, err := ParseHistory(s)
		if err != nil {
			return
		}
		files := []string{"000000010000000000000001", "000000010000000100000000", "00000002000000000000000A", "0000000300000000000000FF"}
		for _, sw := range switches {
			for _, f := range CatchUpSegments(files, sw, SegmentSize) {
				if start, _ := SegmentStart(f, SegmentSize); start+SegmentSize > uint64(sw.At) {
					t.Fatalf("switch %+v: picked %s, which ends past it", sw, f)
				}
			}
		}
	})
}
