package pgbackrest

import (
	"strconv"
	"strings"

	"hadron.dev/hadron/internal/data"
)

// SegmentSize is PostgreSQL's default WAL segment size (hadron's initdb keeps it).
const SegmentSize = 16 << 20

// SegmentStart is the WAL position where the segment named name begins (24 hex
// digits: timeline, log, segment), or false for another file of pg_wal or the archive
// (a timeline history, a .partial, a .backup label).
func SegmentStart(name string, segSize uint64) (uint64, bool) {
	if len(name) != 24 || segSize == 0 {
		return 0, false
	}
	var parts [3]uint64
	for i := range parts {
		v, err := strconv.ParseUint(name[i*8:i*8+8], 16, 32)
		if err != nil {
			return 0, false
		}
		parts[i] = v
	}
	perLog := uint64(0x100000000) / segSize
	return (parts[1]*perLog + parts[2]) * segSize, true
}

// ArchiveLag is how many bytes of WAL the primary wrote that are not in the archive
// yet: from the start of the oldest segment still waiting for archive_command (its
// pg_wal/archive_status/*.ready files, given here by name) to the current position;
// with none waiting, the part of the current segment written so far, which reaches
// the archive at the next segment switch (archive_timeout at the latest).
//
// pg_stat_archiver's last archived file cannot say this alone: a timeline history
// file is archived before the segments that precede it, and names no position.
func ArchiveLag(current data.LSN, ready []string, segSize uint64) int64 {
	oldest, found := uint64(0), false
	for _, f := range ready {
		start, ok := SegmentStart(strings.TrimSuffix(f, ".ready"), segSize)
		if ok && (!found || start < oldest) {
			oldest, found = start, true
		}
	}
	cur := uint64(current)
	switch {
	case !found:
		return int64(cur % segSize)
	case cur <= oldest:
		return 0
	default:
		return int64(cur - oldest)
	}
}
