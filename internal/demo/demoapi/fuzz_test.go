package demoapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzRanges decodes ranges as a client receives them: well-formed ranges survive
// Expand and Compress unchanged and agree with Contains; malformed ones are refused.
func FuzzRanges(f *testing.F) {
	f.Add([]byte(`[[1,3],[5,5]]`))
	f.Add([]byte(`[[3,1]]`))
	f.Add([]byte(`[[1,5],[4,9]]`))
	f.Add([]byte(`[[-9223372036854775808,9223372036854775807]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var rs []Range
		if json.Unmarshal(b, &rs) != nil || Check(rs) != nil {
			return
		}
		seqs, err := Expand(rs, 10000)
		if err != nil {
			return // too many
		}
		if got := Compress(seqs); len(rs) > 0 && !reflect.DeepEqual(merge(rs), got) {
			t.Fatalf("Compress(Expand(%v)) = %v", rs, got)
		}
		for _, s := range seqs {
			if !Contains(rs, s) {
				t.Fatalf("Contains(%v, %d) = false", rs, s)
			}
		}
	})
}

// merge joins adjacent ranges ([1,2],[3,4] is [1,4]), as Compress does.
func merge(rs []Range) []Range {
	out := []Range{rs[0]}
	for _, r := range rs[1:] {
		if last := &out[len(out)-1]; r[0] == last[1]+1 {
			last[1] = r[1]
		} else {
			out = append(out, r)
		}
	}
	return out
}
