package fleet

import (
	"fmt"
	"strings"
)

// didYouMean returns ` (did you mean "x"?)` for the candidate nearest to got, or ""
// when none is near enough to be a plausible typo.
func didYouMean(got string, candidates []string) string {
	if n := nearest(got, candidates); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

// nearest returns the candidate with the smallest edit distance to got, if that
// distance is small for the word's length; ties go to the earlier candidate so the
// answer does not depend on map order (callers pass sorted lists).
func nearest(got string, candidates []string) string {
	best, bestD := "", -1
	lg := strings.ToLower(got)
	for _, c := range candidates {
		if c == got {
			continue
		}
		d := distance(lg, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > maxTypos(got) {
		return ""
	}
	return best
}

// maxTypos is how far a word may be from its intended spelling: one edit for short
// words, a third of the length for longer ones.
func maxTypos(s string) int {
	return max(1, min(len(s)/3, 4))
}

// distance is the optimal-string-alignment distance (Levenshtein plus transpositions,
// since swapped letters are the commonest typo: "esat" for "east").
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 { // long strings are never typos of a name
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
