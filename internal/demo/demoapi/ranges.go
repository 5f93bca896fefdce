package demoapi

import (
	"fmt"
	"sort"
)

// Range is an inclusive interval of sequence numbers, [From, To]. It is a two-element
// JSON array on the wire: [1,500].
type Range [2]int64

// From is the first seq of the range.
func (r Range) From() int64 { return r[0] }

// To is the last seq of the range.
func (r Range) To() int64 { return r[1] }

// Len is how many seqs the range holds.
func (r Range) Len() int64 { return r[1] - r[0] + 1 }

// Compress turns seqs (any order, duplicates allowed) into ascending, disjoint,
// non-adjacent ranges.
func Compress(seqs []int64) []Range {
	if len(seqs) == 0 {
		return []Range{}
	}
	s := append([]int64(nil), seqs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := []Range{{s[0], s[0]}}
	for _, v := range s[1:] {
		last := &out[len(out)-1]
		switch {
		case v <= last[1]:
		case v == last[1]+1:
			last[1] = v
		default:
			out = append(out, Range{v, v})
		}
	}
	return out
}

// Expand lists the seqs of ranges in ascending order. It refuses malformed input
// (a reversed, overlapping or unsorted range) and more than limit seqs, since ranges
// come from the network.
func Expand(ranges []Range, limit int64) ([]int64, error) {
	if err := Check(ranges); err != nil {
		return nil, err
	}
	var n int64
	for _, r := range ranges {
		// Check bounds every range to [1, MaxInt64], so Len cannot overflow.
		if r.Len() > limit-n {
			return nil, fmt.Errorf("ranges hold more than %d seqs", limit)
		}
		n += r.Len()
	}
	out := make([]int64, 0, n)
	for _, r := range ranges {
		for i := int64(0); i < r.Len(); i++ { // counting, since r[1] may be MaxInt64
			out = append(out, r[0]+i)
		}
	}
	return out, nil
}

// Check reports whether ranges are well formed: seqs are at least 1, each From <= To,
// ascending, disjoint.
func Check(ranges []Range) error {
	for i, r := range ranges {
		if r[0] < 1 {
			return fmt.Errorf("range %d [%d,%d] starts below 1", i, r[0], r[1])
		}
		if r[0] > r[1] {
			return fmt.Errorf("range %d [%d,%d] is reversed", i, r[0], r[1])
		}
		if i > 0 && r[0] <= ranges[i-1][1] {
			return fmt.Errorf("range %d [%d,%d] overlaps or precedes the one before", i, r[0], r[1])
		}
	}
	return nil
}

// Contains reports whether seq is in ranges (which must pass Check).
func Contains(ranges []Range, seq int64) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i][1] >= seq })
	return i < len(ranges) && ranges[i][0] <= seq
}
