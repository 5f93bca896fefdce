package pgbackrest

import (
	"strconv"

	"hadron.dev/hadron/internal/data"
)

// SegmentSize is PostgreSQL's default WAL segment size (hadron's initdb keeps it).
const SegmentSize = 16 << 20

// SegmentEnd is the WAL position just past the segment named name (24 hex digits:
// timeline, log, segment), or false for another file of the archive (a timeline
// history, a .partial or a .backup label): those say nothing about how far the
// archive reaches.
func SegmentEnd(name string, segSize uint64) (uint64, bool) {
	if len(name) != 24 || segSize == 0 {
		return 0, false
	}
	log, err1 := strconv.ParseUint(name[8:16], 16, 32)
	seg, err2 := strconv.ParseUint(name[16:24], 16, 32)
	if _, err := strconv.ParseUint(name[0:8], 16, 32); err != nil || err1 != nil || err2 != nil {
		return 0, false
	}
	perLog := uint64(0x100000000) / segSize
	return (log*perLog + seg + 1) * segSize, true
}

// ArchiveLag is how many bytes of WAL the primary wrote past the end of the last
// segment it archived: what a loss of the primary and its stand-bys would lose from
// the archive. ok is false when pg_stat_archiver names no segment yet.
func ArchiveLag(current data.LSN, lastArchived string, segSize uint64) (lag int64, ok bool) {
	end, ok := SegmentEnd(lastArchived, segSize)
	if !ok {
		return 0, false
	}
	if uint64(current) <= end {
		return 0, true
	}
	return int64(uint64(current) - end), true
}
