package memory

import (
	"context"
	"fmt"

	"hadron.dev/hadron/internal/data"
)

// ArchiveSet is a Set with a backup archive that ends at End (data.ArchiveRestorer).
// A restore validates as the PostgreSQL driver does: refused while a member answers
// as primary, or over a member that answers or whose copy is not lost (Lost names the
// members whose data is gone).
type ArchiveSet struct {
	*Set
	End  data.LSN
	Lost map[string]bool
	// InProgress names the sites whose restore was begun and not finished.
	InProgress map[string]bool
}

// RestoreInProgress reports InProgress[site].
func (a *ArchiveSet) RestoreInProgress(site string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.InProgress[site]
}

// RestoreLatest rebuilds the first member at site whose copy is lost from the archive:
// it answers as primary at End on a new timeline.
func (a *ArchiveSet) RestoreLatest(ctx context.Context, site string) (data.Restored, error) {
	s := a.Set
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.primary(); p != nil {
		return data.Restored{}, fmt.Errorf("restore: %s answers as primary", p.Name)
	}
	for _, m := range s.Members {
		if m.Site != site {
			continue
		}
		if a.InProgress[site] && m.Reachable {
			// The restored server replayed to the end: only its promotion is left.
			s.Calls = append(s.Calls, "finish restore "+m.Name)
			m.Primary, m.Flush, m.Replay = true, a.End, a.End
			m.Timeline++
			delete(a.InProgress, site)
			return data.Restored{Member: m.Name, Timeline: int(m.Timeline), End: a.End, Resumed: true}, nil
		}
		if m.Reachable || !a.Lost[m.Name] {
			return data.Restored{}, fmt.Errorf("restore %s: its copy is not lost", m.Name)
		}
		s.Calls = append(s.Calls, "restore "+m.Name)
		m.Reachable, m.Primary, m.Fenced, m.Upstream, m.Sync = true, true, false, "", false
		m.Flush, m.Replay = a.End, a.End
		m.Timeline++
		delete(a.Lost, m.Name)
		return data.Restored{Member: m.Name, Timeline: int(m.Timeline), End: a.End}, nil
	}
	return data.Restored{}, fmt.Errorf("restore: no member at site %s", site)
}
