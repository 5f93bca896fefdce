package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// KeeperName is the application_name of the bound keeper's replication connection
// (keeper.go). A member is named by a DNS label, which has no '_': no member can take
// the keeper's place in synchronous_standby_names.
const KeeperName = "hadron_bound"

// SyncPolicy is what decides a primary's synchronous_standby_names besides the members'
// states.
type SyncPolicy struct {
	// InRegion makes a standby of the primary's region synchronous (the mirror set's
	// spec.replication.synchronous): RPO 0 inside the region.
	InRegion bool
	// Mode is the applications' data-loss mode across regions; Bound is bounded's.
	Mode  v1alpha1.DataLossMode
	Bound time.Duration
	// Current is the primary's synchronous_standby_names now. What it requires across
	// regions stays required while the member does not stream: only Release drops a
	// promise in force.
	Current string
}

// SyncStandbyNames is the synchronous_standby_names of mode async, as hadron always
// had it: the standbys of the primary's region that stream now, any one of which must
// confirm each commit (RPO 0 inside the region). Members of other regions stay
// asynchronous so that a slow or cut cross-region link never blocks commits. With no
// in-region standby streaming it is empty (asynchronous): a lone primary keeps
// accepting writes, and the monitor will not promote automatically, since no member is
// known to hold every commit.
func SyncStandbyNames(primary, primaryRegion string, members []data.MemberStatus, synchronous bool) string {
	return WantedSync(primary, primaryRegion, members, SyncPolicy{InRegion: synchronous, Mode: v1alpha1.DataLossAsync})
}

// WantedSync is the synchronous_standby_names a primary in primaryRegion should have
// under p. PostgreSQL 15 has one level of quorum or priority, so modes bounded and
// synchronous name one in-region standby (a failover member first) rather than any of
// them:
//
//   - async: SyncStandbyNames.
//   - bounded: FIRST n ("hadron_bound"[, in-region standby]). Every commit waits for the
//     bound keeper, which confirms it only while the DR member's confirmed position is
//     younger than the bound (keeper.go). The keeper is named once a DR member streams
//     within the bound or catchUpLag, whichever is longer (commits then wait at most
//     that long for it to catch up), and stays named (commits wait while no keeper
//     streams) until Release.
//   - synchronous: ANY n ([in-region standby, ]DR member): every commit waits for both.
//     The DR member is one that streams, caught up to within catchUpLag; one named
//     already stays named while it does not stream (commits wait) unless another DR
//     member has caught up completely — it then holds every commit the named one
//     confirmed — and is dropped only by Release.
//
// The in-region standby is named only while it streams, as in mode async: the
// monitor promotes it only while it is synchronous and streaming.
func WantedSync(primary, primaryRegion string, members []data.MemberStatus, p SyncPolicy) string {
	var local, remote []data.MemberStatus
	for _, m := range members {
		if m.Member == primary || m.Primary {
			continue
		}
		if m.Region == primaryRegion {
			local = append(local, m)
		} else {
			remote = append(remote, m)
		}
	}
	streams := func(m data.MemberStatus) bool {
		return m.State == data.StateStreaming || m.State == data.StateCatchingUp
	}
	var names []string
	if p.Mode == v1alpha1.DataLossAsync || p.Mode == "" {
		if !p.InRegion {
			return ""
		}
		for _, m := range local {
			if streams(m) {
				names = append(names, quoteName(m.Member))
			}
		}
		if len(names) == 0 {
			return ""
		}
		sort.Strings(names)
		return "ANY 1 (" + strings.Join(names, ", ") + ")"
	}
	in := ""
	if p.InRegion {
		sort.SliceStable(local, func(i, j int) bool {
			if a, b := local[i].Role == v1alpha1.RoleFailover, local[j].Role == v1alpha1.RoleFailover; a != b {
				return a
			}
			return local[i].Member < local[j].Member
		})
		for _, m := range local {
			if streams(m) {
				in = quoteName(m.Member)
				break
			}
		}
	}
	named := syncNamesIn(p.Current)
	switch p.Mode {
	case v1alpha1.DataLossBounded:
		keep := named[KeeperName]
		for _, m := range remote {
			if streams(m) && m.LagSeconds <= max(p.Bound.Seconds(), catchUpLag) {
				keep = true
			}
		}
		if keep {
			names = append(names, quoteName(KeeperName))
		}
		if in != "" {
			names = append(names, in)
		}
		if len(names) == 0 {
			return ""
		}
		return fmt.Sprintf("FIRST %d (%s)", len(names), strings.Join(names, ", "))
	case v1alpha1.DataLossSynchronous:
		dr := drMember(remote, named, streams)
		if in != "" {
			names = append(names, in)
		}
		if dr != "" {
			names = append(names, quoteName(dr))
		}
		if len(names) == 0 {
			return ""
		}
		return fmt.Sprintf("ANY %d (%s)", len(names), strings.Join(names, ", "))
	}
	return ""
}

// catchUpLag is how far behind (seconds) a streaming DR member may be when modes
// bounded and synchronous start to wait for it: commits wait while it catches up the
// rest.
const catchUpLag = 1.0

// drMember is the member outside the region that mode synchronous waits for: the one
// named already while it streams; else one that streams and has caught up completely
// (it holds all the named one confirmed); else the named one, streaming or not; else,
// with none named, the most advanced that streams within catchUpLag.
func drMember(remote []data.MemberStatus, named map[string]bool, streams func(data.MemberStatus) bool) string {
	sort.SliceStable(remote, func(i, j int) bool {
		if remote[i].FlushLSN != remote[j].FlushLSN {
			return remote[i].FlushLSN > remote[j].FlushLSN
		}
		return remote[i].Member < remote[j].Member
	})
	was := ""
	for _, m := range remote {
		if named[m.Member] {
			if streams(m) {
				return m.Member
			}
			if was == "" {
				was = m.Member
			}
		}
	}
	for _, m := range remote {
		if streams(m) && (m.LagBytes == 0 || (was == "" && m.LagSeconds <= catchUpLag)) {
			return m.Member
		}
	}
	return was
}

func quoteName(n string) string { return `"` + strings.ReplaceAll(n, `"`, `""`) + `"` }

// syncNamesIn reads the standby names out of a synchronous_standby_names value.
func syncNamesIn(setting string) map[string]bool {
	out := map[string]bool{}
	s := strings.TrimSpace(setting)
	if i := strings.Index(s, "("); i >= 0 && strings.HasSuffix(s, ")") {
		s = s[i+1 : len(s)-1]
	}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			break
		}
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					break
				}
				b.WriteByte(s[i])
			}
			out[b.String()] = true
			s = s[min(i+1, len(s)):]
			continue
		}
		end := strings.IndexAny(s, " ,")
		if end < 0 {
			end = len(s)
		}
		out[strings.ToLower(s[:end])] = true
		s = s[end:]
	}
	return out
}

func (d *Driver) synchronous() bool {
	r := d.cfg.Set.Spec.Replication
	return r == nil || r.Synchronous == nil || *r.Synchronous
}

// policy is the set's SyncPolicy with current as the primary's setting now.
func (d *Driver) policy(current string) SyncPolicy {
	p := SyncPolicy{InRegion: d.synchronous(), Mode: d.cfg.Loss.EffectiveMode(), Current: current}
	if d.cfg.Loss.Bound != nil {
		p.Bound = d.cfg.Loss.Bound.Duration
	}
	return p
}

// syncInForce bounds the wait for the primary's walsenders to apply a new
// synchronous_standby_names.
const syncInForce = 10 * time.Second

// updateSync sets the primary's synchronous_standby_names from the current status and
// returns once it is in force: the primary's pg_stat_replication lists exactly the
// wanted members as synchronous. A reload is applied by each walsender on its own
// time; until the new member is listed, commits do not wait for it and RPO 0 does not
// hold yet, so a caller that reports RPO 0 must not return before. A name that stays
// in the setting while its standby does not stream (the bound keeper, or a DR member
// named before) cannot be listed: commits wait for it.
func (d *Driver) updateSync(ctx context.Context, primary string) error {
	return d.setSync(ctx, primary, false)
}

// releasedSync is the synchronous_standby_names of primary (in region) once the set's
// promise is released: the cross-region requirement dropped, the in-region standby
// kept.
func (d *Driver) releasedSync(primary, region string, members []data.MemberStatus) string {
	pol := d.policy("")
	if pol.Mode == v1alpha1.DataLossAsync {
		return WantedSync(primary, region, members, pol)
	}
	var local []data.MemberStatus
	for _, m := range members {
		if m.Region == region {
			local = append(local, m)
		}
	}
	return WantedSync(primary, region, local, pol)
}

// setSync is updateSync; release drops the cross-region requirement of the set's mode
// instead of keeping it (Release).
func (d *Driver) setSync(ctx context.Context, primary string, release bool) error {
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("sync standbys: %w", err)
	}
	p := st.Member(primary)
	if p == nil || !p.Reachable {
		return fmt.Errorf("sync standbys: primary %s: %w", primary, data.ErrUnreachable)
	}
	conn, err := d.connect(ctx, d.members[primary], "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var cur string
	if err := conn.QueryRow(ctx, `select current_setting('synchronous_standby_names')`).Scan(&cur); err != nil {
		return err
	}
	want := WantedSync(primary, p.Region, st.Members, d.policy(cur))
	if release {
		want = d.releasedSync(primary, p.Region, st.Members)
	}
	if cur != want {
		d.log.Info("synchronous standbys", "member", primary, "from", cur, "to", want)
		if err := reconfigure(ctx, conn, setting{"synchronous_standby_names", want}); err != nil {
			return err
		}
	}
	wanted := syncNamesIn(want)
	var listed map[string]string
	err = pollUntil(ctx, syncInForce, func(ctx context.Context) (bool, error) {
		rows, err := conn.Query(ctx, `select application_name, coalesce(sync_state, '') from pg_stat_replication`)
		if err != nil {
			return false, err
		}
		listed = map[string]string{}
		for rows.Next() {
			var name, state string
			if err := rows.Scan(&name, &state); err != nil {
				return false, err
			}
			listed[name] = state
		}
		return syncApplied(wanted, listed, absentAllowed(wanted, st, p.Region)), rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sync standbys of %s: %q not in force (pg_stat_replication: %v): %w", primary, want, listed, err)
	}
	return nil
}

// absentAllowed are the wanted names that need not stream for the setting to be in
// force: the bound keeper and members outside the region, which stay named while they
// do not stream (commits wait for them).
func absentAllowed(wanted map[string]bool, st *data.SetStatus, region string) map[string]bool {
	out := map[string]bool{}
	for n := range wanted {
		if m := st.Member(n); n == KeeperName || (m != nil && m.Region != region) {
			out[n] = true
		}
	}
	return out
}

// syncApplied says whether the primary's walsenders (application name → sync_state)
// list exactly the wanted members as synchronous ("sync" or "quorum"). A wanted name
// in absent may be missing from the list (it does not stream now).
func syncApplied(wanted map[string]bool, listed map[string]string, absent map[string]bool) bool {
	for name, state := range listed {
		sync := state == "sync" || state == "quorum"
		if sync != wanted[name] {
			return false
		}
	}
	for name := range wanted {
		if _, ok := listed[name]; !ok && !absent[name] {
			return false
		}
	}
	return true
}

// UpdateSync recomputes the primary's synchronous standbys (for the monitor, when the
// synchronous member stops streaming and commits would otherwise wait forever, or
// when a promise not in force can be put back).
func (d *Driver) UpdateSync(ctx context.Context) error {
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if st.Primary == "" {
		return fmt.Errorf("sync standbys: %w", data.ErrNoPrimary)
	}
	return d.updateSync(ctx, st.Primary)
}

// Release drops the cross-region requirement of the set's data-loss mode from the
// primary: commits stop waiting for the bound keeper or the DR member. It is the
// decision of whoever may take it (the daemons' leader, having recorded that the DR
// member no longer holds what the promise says); the requirement comes back by itself
// (UpdateSync) once a DR member streams within the promise again.
func (d *Driver) Release(ctx context.Context) error {
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if st.Primary == "" {
		return fmt.Errorf("release: %w", data.ErrNoPrimary)
	}
	return d.setSync(ctx, st.Primary, true)
}

// ReleasePlan says what Release would do now: the primary, its
// synchronous_standby_names, and what they would become.
func (d *Driver) ReleasePlan(ctx context.Context) (primary, now, after string, err error) {
	st, err := d.Status(ctx)
	if err != nil {
		return "", "", "", err
	}
	p := st.Member(st.Primary)
	if p == nil || st.Promise == nil {
		return "", "", "", fmt.Errorf("release: %w", data.ErrNoPrimary)
	}
	return p.Member, st.Promise.Setting, d.releasedSync(p.Member, p.Region, st.Members), nil
}

// promotedSync is the synchronous_standby_names member starts with when it is
// promoted. A member promoted in the old primary's region carries the promise on: the
// bound keeper, or the DR members (any one of them), must confirm its first commits
// already, so nothing it acknowledges between the promotion and the next UpdateSync
// escapes the promise. A member promoted in another region (a region failover) starts
// asynchronous: the region the promise was about is the one lost, and UpdateSync
// names its members again when they rejoin.
func (d *Driver) promotedSync(member, oldPrimary string) string {
	m := d.members[member]
	old, ok := d.members[oldPrimary]
	if !ok || d.region(old) != d.region(m) {
		return ""
	}
	switch d.cfg.Loss.EffectiveMode() {
	case v1alpha1.DataLossBounded:
		return fmt.Sprintf("FIRST 1 (%s)", quoteName(KeeperName))
	case v1alpha1.DataLossSynchronous:
		var names []string
		for _, o := range d.cfg.Set.Spec.Members {
			if d.region(o) != d.region(m) {
				names = append(names, quoteName(o.Name))
			}
		}
		if len(names) > 0 {
			return fmt.Sprintf("ANY 1 (%s)", strings.Join(names, ", "))
		}
	}
	return ""
}
