package daemon

import (
	"context"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/data"
)

// dataEvery is how often a daemon observes the mirror sets for status; each
// observation is bounded by dataTimeout so an unreachable member costs one timeout.
const (
	dataEvery   = 5 * time.Second
	dataTimeout = 4 * time.Second
)

// observe keeps the latest status of every mirror set until ctx ends.
func (v *dataView) observe(ctx context.Context) {
	if len(v.drivers) == 0 {
		return
	}
	for {
		for name, drv := range v.drivers {
			from := time.Now()
			octx, cancel := context.WithTimeout(ctx, dataTimeout)
			st, err := drv.Status(octx)
			cancel()
			if err == nil {
				// A self-fenced member promoted, rejoined or unfenced by anyone since
				// is no longer listed as fenced.
				v.reviewSelfFences(name, st, from)
			}
			view := toDataSet(name, st, err)
			if err == nil {
				view.Archive = v.observeArchive(ctx, name, st.Primary)
			}
			v.mu.Lock()
			v.sets[name] = view
			if err == nil {
				if st.Primary != "" {
					v.lastHealthy[name] = st
				}
				if p := st.Member(st.Primary); p != nil && p.FlushLSN > v.lastFlush[name] {
					// Remembered for a failover that cannot read the old primary any more.
					v.lastFlush[name] = p.FlushLSN
				}
				if st.Promise != nil {
					pr := *st.Promise
					v.lastPromise[name] = &pr
				}
				if a := archiveSeen(view.Archive, v.archiveTimeout(name)); a != nil {
					v.lastArchive[name] = a
				}
			}
			v.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(dataEvery):
		}
	}
}

// toDataSet is the API's view of one observation.
func toDataSet(name string, st *data.SetStatus, err error) api.DataSet {
	out := api.DataSet{Name: name}
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Primary, out.At = st.Primary, st.At.UTC()
	if p := st.Promise; p != nil {
		out.Promise = &api.DataPromise{Mode: string(p.Mode), InForce: p.InForce, Holding: p.Holding, DR: p.DR,
			ConfirmedLagSeconds: p.ConfirmedLag, Summary: p.String()}
		if p.Bound > 0 {
			out.Promise.Bound = p.Bound.String()
		}
	}
	for _, m := range st.Members {
		out.Members = append(out.Members, api.DataMember{Name: m.Member, Site: m.Site, Role: string(m.Role),
			State: string(m.State), Sync: m.Sync, LagBytes: m.LagBytes, LagSeconds: m.LagSeconds,
			Timeline: m.Timeline, Error: m.Error})
	}
	return out
}
