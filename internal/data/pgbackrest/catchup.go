package pgbackrest

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"hadron.dev/hadron/internal/data"
)

// Switch is one line of a timeline history file: timeline Parent ended at At, where
// the next timeline began.
type Switch struct {
	Parent uint32
	At     data.LSN
}

// ParseHistory reads a timeline history file (0000000N.history): one line per
// ancestor, "parent<TAB>switch position<TAB>reason", comments after '#'.
func ParseHistory(text string) ([]Switch, error) {
	var out []Switch
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("timeline history line %d: %q: want a timeline and a position", n, sc.Text())
		}
		tli, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("timeline history line %d: timeline %q: %w", n, f[0], err)
		}
		at, err := data.ParseLSN(f[1])
		if err != nil {
			return nil, fmt.Errorf("timeline history line %d: %w", n, err)
		}
		out = append(out, Switch{Parent: uint32(tli), At: at})
	}
	return out, sc.Err()
}

// CatchUpSegments are the files of a promoted member's pg_wal that the archive may
// lack: whole segments of the parent timeline that end at or before the switch to the
// member's timeline. Under archive_mode=on a stand-by marks what it receives as
// archived, so segments the old primary had not archived when it died are only
// here; pushing them closes the gap. Later names on the parent timeline are recycled
// files holding old bytes, and the segment with the switch in it the server archives
// itself as .partial: neither is pushed. Sorted in WAL order.
func CatchUpSegments(files []string, sw Switch, segSize uint64) []string {
	var out []string
	for _, f := range files {
		start, ok := SegmentStart(f, segSize)
		if !ok {
			continue
		}
		tli, _ := strconv.ParseUint(f[:8], 16, 32)
		if uint32(tli) != sw.Parent || start+segSize > uint64(sw.At) {
			continue
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
