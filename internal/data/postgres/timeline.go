package postgres

import "hadron.dev/hadron/internal/data"

// seenTimeline is the newest timeline a stand-by was seen receiving, on which system.
type seenTimeline struct {
	system   uint64
	timeline uint32
}

// standbyTimeline is the timeline a stand-by follows. PostgreSQL 15 shows it only
// while WAL arrives (pg_stat_wal_receiver) or once a restartpoint wrote it into the
// control file; a stand-by that followed a new primary and has not made a restartpoint
// since shows the old timeline again the moment its upstream dies — exactly when the
// monitor asks whether it may be promoted (same timeline as the lost primary), so a
// second failover in a row would never happen. What it received stays in its WAL: the
// newest timeline seen receiving, on the same system, is still the one it follows.
// seen is updated; m is the member as observed.
func standbyTimeline(seen map[string]seenTimeline, m data.MemberStatus, receiving bool) uint32 {
	last, ok := seen[m.Member]
	if ok && last.system != m.SystemID {
		ok = false
	}
	if receiving || !ok || m.Timeline > last.timeline {
		seen[m.Member] = seenTimeline{system: m.SystemID, timeline: m.Timeline}
		return m.Timeline
	}
	return last.timeline
}
