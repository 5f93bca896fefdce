package data

import (
	"sort"

	"hadron.dev/hadron/api/v1alpha1"
)

// MostAdvanced returns the standbys that could be promoted, best first, and the best
// one. Only reachable standbys (not primaries) whose system identifier is systemID
// (0: any) are candidates. The ordering, most important first:
//
//  1. higher timeline — a member on a newer timeline has history the others lack;
//  2. higher flush position — WAL a standby has received is replayed before it
//     finishes promotion, so this is the data the promotion carries;
//  3. higher replay position — less to replay, so a faster promotion;
//  4. synchronous before asynchronous — the primary vouched for it;
//  5. failover role before DR role — it is in the primary's region;
//  6. name, so that the choice is deterministic.
func MostAdvanced(members []MemberStatus, systemID uint64) ([]MemberStatus, *MemberStatus) {
	var c []MemberStatus
	for _, m := range members {
		if !m.Reachable || m.Primary {
			continue
		}
		if systemID != 0 && m.SystemID != systemID {
			continue
		}
		c = append(c, m)
	}
	sort.SliceStable(c, func(i, j int) bool { return ahead(c[i], c[j]) })
	if len(c) == 0 {
		return nil, nil
	}
	return c, &c[0]
}

// ahead reports whether a sorts before b in MostAdvanced's ordering.
func ahead(a, b MemberStatus) bool {
	if a.Timeline != b.Timeline {
		return a.Timeline > b.Timeline
	}
	if a.FlushLSN != b.FlushLSN {
		return a.FlushLSN > b.FlushLSN
	}
	if a.ReplayLSN != b.ReplayLSN {
		return a.ReplayLSN > b.ReplayLSN
	}
	if a.Sync != b.Sync {
		return a.Sync
	}
	if ra, rb := roleRank(a.Role), roleRank(b.Role); ra != rb {
		return ra < rb
	}
	return a.Member < b.Member
}

func roleRank(r v1alpha1.MemberRole) int {
	switch r {
	case v1alpha1.RoleFailover:
		return 0
	case v1alpha1.RolePrimary:
		return 1
	default:
		return 2
	}
}
