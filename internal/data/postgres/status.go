package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// observation is what one member said about itself.
type observation struct {
	st data.MemberStatus
	// replicas is the primary's pg_stat_replication, by application_name.
	replicas map[string]replica
	// forks is the primary's timeline history: the position where each older
	// timeline ended.
	forks map[uint32]data.LSN
	// upstreamAddr is the host:port a standby streams from or is configured to.
	upstreamAddr string
	receiving    bool
	// syncNames is a primary's synchronous_standby_names.
	syncNames string
	// stale says the session's settings that status depends on differ from the
	// configuration files: a reload it has not applied yet.
	stale bool
	err   error
}

var errStaleSession = errors.New("session has not applied the last configuration reload")

var errNoHistory = errors.New("history file missing")

// staleRetries and staleWait bound how long an observation waits for its session to
// apply a configuration reload (a setting overridden per role or database never will).
const (
	staleRetries = 10
	staleWait    = 20 * time.Millisecond
)

type replica struct {
	state, syncState string
	replayLag        float64
	// unconfirmed says the standby has confirmed less than it was sent: for the bound
	// keeper, that it holds commits back.
	unconfirmed bool
}

// Status observes every member concurrently; see data.Driver.
func (d *Driver) Status(ctx context.Context) (*data.SetStatus, error) {
	obs := make([]observation, len(d.cfg.Set.Spec.Members))
	var wg sync.WaitGroup
	for i, m := range d.cfg.Set.Spec.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obs[i] = d.observe(ctx, m)
		}()
	}
	wg.Wait()
	return d.assemble(obs)
}

// assemble derives set-level facts (primary, lag, sync, state) from the observations.
func (d *Driver) assemble(obs []observation) (*data.SetStatus, error) {
	s := &data.SetStatus{Set: d.cfg.Set.Name, At: time.Now().UTC()}
	var primary *observation
	auth := 0
	for i := range obs {
		o := &obs[i]
		if o.err != nil && isAuth(o.err) {
			auth++
		}
		if !o.st.Reachable || !o.st.Primary {
			continue
		}
		if o.st.State == data.StateFenced {
			continue
		}
		if primary == nil || o.st.Timeline > primary.st.Timeline {
			primary = o
		}
	}
	if auth == len(obs) && auth > 0 {
		return nil, fmt.Errorf("status of %s: %w", d.cfg.Set.Name, obs[0].err)
	}
	var ref data.LSN // the newest position known: the primary's flush, else the max seen
	if primary != nil {
		s.Primary = primary.st.Member
		ref = primary.st.FlushLSN
	} else {
		for _, o := range obs {
			if o.st.FlushLSN > ref {
				ref = o.st.FlushLSN
			}
		}
	}
	for i := range obs {
		o := &obs[i]
		m := &o.st
		if o.upstreamAddr != "" {
			m.Upstream = d.memberAt(o.upstreamAddr, m.Region)
		}
		if !m.Reachable {
			s.Members = append(s.Members, *m)
			continue
		}
		if !m.Primary {
			d.mu.Lock()
			m.Timeline = standbyTimeline(d.timelines, *m, o.receiving)
			d.mu.Unlock()
		}
		end := m.ReplayLSN
		if m.Primary {
			end = m.FlushLSN
		}
		m.LagBytes = ref.Sub(end)
		if !m.Primary {
			var r replica
			var seen bool
			if primary != nil {
				r, seen = primary.replicas[m.Member]
			}
			m.Sync = seen && (r.syncState == "sync" || r.syncState == "quorum")
			switch {
			case primary != nil && diverged(m, primary):
				m.State = data.StateDiverged
			case !o.receiving:
				m.State = data.StateDisconnected
			case seen && r.state != "streaming", primary != nil && m.Timeline < primary.st.Timeline:
				m.State = data.StateCatchingUp
			default:
				m.State = data.StateStreaming
			}
			m.LagSeconds = d.lagSeconds(m, r, seen && o.receiving)

		}
		s.Members = append(s.Members, *m)
	}
	if primary != nil {
		s.Promise = d.promise(primary, s)
	}
	return s, nil
}

// quorumOfAll says whether setting makes every commit wait for all of its n names
// ("ANY n (...)" or "FIRST n (...)"): then each of them holds every commit.
func quorumOfAll(setting string, n int) bool {
	var k int
	var kind string
	if _, err := fmt.Sscanf(strings.TrimSpace(setting), "%s %d", &kind, &k); err != nil {
		return false
	}
	kind = strings.ToUpper(kind)
	return (kind == "ANY" || kind == "FIRST") && k == n && n > 0
}

// promise is how primary keeps the set's data-loss mode in observation s.
func (d *Driver) promise(primary *observation, s *data.SetStatus) *data.Promise {
	pol := d.policy(primary.syncNames)
	out := &data.Promise{Mode: pol.Mode, Bound: pol.Bound, Setting: primary.syncNames}
	region := primary.st.Region
	var dr *data.MemberStatus
	for i := range s.Members {
		m := &s.Members[i]
		if m.Region == region || m.Primary || !m.Reachable {
			continue
		}
		if dr == nil || m.FlushLSN > dr.FlushLSN {
			dr = m
		}
	}
	if dr != nil {
		out.DR, out.ConfirmedLag = dr.Member, dr.LagSeconds
	}
	named := syncNamesIn(primary.syncNames)
	keeper, hasKeeper := primary.replicas[KeeperName]
	out.Keeper = hasKeeper
	switch pol.Mode {
	case v1alpha1.DataLossBounded:
		out.InForce = named[KeeperName]
		out.Holding = boundHolding(out.InForce, hasKeeper, keeper.unconfirmed, time.Duration(out.ConfirmedLag*float64(time.Second)), pol.Bound)
	case v1alpha1.DataLossSynchronous:
		for n := range named {
			if m := s.Member(n); m != nil && m.Region != region {
				out.InForce = true
				if m.State != data.StateStreaming && m.State != data.StateCatchingUp {
					out.Holding = true
				}
			}
		}
		if out.InForce && quorumOfAll(primary.syncNames, len(named)) {
			for n := range named {
				out.Holders = append(out.Holders, n)
			}
			sort.Strings(out.Holders)
		}
	default:
		return out
	}
	if !out.InForce {
		// Could UpdateSync put the cross-region requirement back now?
		for n := range syncNamesIn(WantedSync(primary.st.Member, region, s.Members, pol)) {
			if m := s.Member(n); n == KeeperName || (m != nil && m.Region != region) {
				out.Restorable = true
			}
		}
	}
	return out
}

// boundHolding says whether the commits of a bounded set wait now: its requirement is
// in force and no keeper streams, or the keeper has confirmed less than the primary
// sent it while the DR member's confirmed lag is at least the bound. The lag alone is
// not enough: after a quiet spell the next commit is the first WAL the DR member lacks,
// so the keeper confirms it, and a status read seldom overstates the lag (it counts
// from its own previous look).
func boundHolding(inForce, keeper, unconfirmed bool, lag, bound time.Duration) bool {
	return inForce && (!keeper || (unconfirmed && lag >= bound))
}

func isAuth(err error) bool { return errors.Is(err, data.ErrAuth) }

// memberAt names the member whose address, seen from region, is addr.
func (d *Driver) memberAt(addr, region string) string {
	for _, m := range d.cfg.Set.Spec.Members {
		if sameAddr(addrFrom(m, region), addr) || sameAddr(m.Address.Address, addr) {
			return m.Name
		}
	}
	return addr
}

func sameAddr(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	norm := func(h string) string {
		if h == "localhost" {
			return "127.0.0.1"
		}
		return h
	}
	return pa == pb && norm(ha) == norm(hb)
}

// observe asks one member about itself.
func (d *Driver) observe(ctx context.Context, m v1alpha1.Member) observation {
	o := observation{st: data.MemberStatus{
		Member: m.Name, Site: m.Site, Zone: m.Zone, Region: d.region(m), Role: m.Role,
		State: data.StateUnreachable,
	}}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout+3*time.Second)
	defer cancel()
	var connected bool
	err := d.observeConn(ctx, m, func(conn *pgx.Conn, reused bool) error {
		connected = true
		fresh := observation{st: o.st}
		if err := d.query(ctx, conn, &fresh); err != nil {
			return err
		}
		// A session applies a reload at its next statement once the postmaster, having
		// read the files itself, has signalled it; a session that was idle, or forked
		// a moment before the reload, reads stale until then. Asking again shortly on
		// the same session is cheaper than a new one (half a second across regions).
		for i := 0; fresh.stale && i < staleRetries; i++ {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(staleWait):
			}
			fresh = observation{st: o.st}
			if err := d.query(ctx, conn, &fresh); err != nil {
				return err
			}
		}
		if reused && fresh.stale {
			return errStaleSession
		}
		o = fresh
		return nil
	})
	if err != nil {
		o.err = err
		if connected {
			o.err = fmt.Errorf("%s: %w", m.Name, err)
		}
		o.st.Error = o.err.Error()
		o.st.State = data.StateUnreachable
		if rejoinCutOff(m) {
			o.st.State = data.StateRejoining
		}
		return o
	}
	o.st.Reachable = true
	return o
}

// memberQuery reads everything Status needs of one member in one round trip (a member
// in another region costs 70 ms a round trip in the lab). The primary's columns are
// computed only when the member is not in recovery (CASE evaluates a volatile branch
// only when taken): pg_current_wal_flush_lsn() fails on a stand-by. The first column
// decides which columns are read; a promotion finishing in the middle of the statement
// only fills columns that are then ignored.
//
// pg_stat_replication's sync_state and the session's read-only default follow the
// session's own copy of the configuration; the stale column compares it with the files.
const memberQuery = `select pg_is_in_recovery(), (select system_identifier from pg_control_system()),
	current_setting('default_transaction_read_only'),
	coalesce((select setting from pg_file_settings where name = 'synchronous_standby_names' and error is null
		order by seqno desc limit 1), '') <> current_setting('synchronous_standby_names')
	or coalesce((select setting from pg_file_settings where name = 'default_transaction_read_only' and error is null
		order by seqno desc limit 1), 'off') <> current_setting('default_transaction_read_only'),
	case when pg_is_in_recovery() then '' else pg_current_wal_flush_lsn()::text end,
	case when pg_is_in_recovery() then '' else pg_walfile_name(pg_current_wal_flush_lsn()) end,
	case when pg_is_in_recovery() then '' else coalesce(pg_read_file('pg_wal/' ||
		substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8) || '.history', 0, 1048576, true), '') end,
	case when pg_is_in_recovery() then '[]' else coalesce((select json_agg(json_build_array(application_name,
		coalesce(state, ''), coalesce(sync_state, ''), coalesce(extract(epoch from replay_lag)::float8, 0), coalesce(flush_lsn < sent_lsn, false)))
		from pg_stat_replication)::text, '[]') end,
	coalesce(pg_last_wal_receive_lsn()::text, ''), coalesce(pg_last_wal_replay_lsn()::text, ''),
	pg_last_xact_replay_timestamp(), (select timeline_id from pg_control_checkpoint()),
	coalesce((select status from pg_stat_wal_receiver), ''), coalesce((select received_tli from pg_stat_wal_receiver), 0),
	coalesce((select sender_host || ':' || sender_port from pg_stat_wal_receiver), ''),
	current_setting('primary_conninfo'), current_setting('synchronous_standby_names')`

// memberRow is memberQuery's row.
type memberRow struct {
	inRecovery                       bool
	sysID                            int64
	readOnly                         string
	stale                            bool
	flush, walfile, history, senders string
	recv, replay                     string
	lastReplay                       *time.Time
	ckptTLI, recvTLI                 int32
	recvStatus, sender, conninfo     string
	syncNames                        string
}

func (d *Driver) query(ctx context.Context, conn *pgx.Conn, o *observation) error {
	var r memberRow
	if err := conn.QueryRow(ctx, memberQuery).Scan(&r.inRecovery, &r.sysID, &r.readOnly, &r.stale,
		&r.flush, &r.walfile, &r.history, &r.senders,
		&r.recv, &r.replay, &r.lastReplay, &r.ckptTLI, &r.recvStatus, &r.recvTLI, &r.sender, &r.conninfo, &r.syncNames); err != nil {
		return err
	}
	return r.fill(o)
}

// fill sets o from the row: a primary's position, timeline, history and stand-bys, or a
// stand-by's positions and upstream.
func (r memberRow) fill(o *observation) error {
	o.st.SystemID = uint64(r.sysID)
	o.stale = r.stale
	if r.inRecovery {
		return r.fillStandby(o)
	}
	o.st.Primary = true
	o.syncNames = r.syncNames
	o.st.State = data.StatePrimary
	if r.readOnly == "on" {
		o.st.State = data.StateFenced
	}
	lsn, err := data.ParseLSN(r.flush)
	if err != nil {
		return err
	}
	o.st.FlushLSN, o.st.ReplayLSN = lsn, lsn
	if len(r.walfile) >= 8 {
		var tli uint32
		if _, err := fmt.Sscanf(r.walfile[:8], "%08X", &tli); err == nil {
			o.st.Timeline = tli
		}
	}
	o.forks = map[uint32]data.LSN{}
	if o.st.Timeline > 1 {
		if r.history == "" {
			return fmt.Errorf("timeline history %d: %w", o.st.Timeline, errNoHistory)
		}
		o.forks = parseHistory(r.history)
	}
	var senders [][]any
	if err := json.Unmarshal([]byte(r.senders), &senders); err != nil {
		return fmt.Errorf("pg_stat_replication: %w", err)
	}
	o.replicas = map[string]replica{}
	for _, s := range senders {
		if len(s) < 4 {
			continue
		}
		name, _ := s[0].(string)
		state, _ := s[1].(string)
		sync, _ := s[2].(string)
		lag, _ := s[3].(float64)
		r := replica{state: state, syncState: sync, replayLag: lag}
		if len(s) > 4 {
			r.unconfirmed, _ = s[4].(bool)
		}
		o.replicas[name] = r
	}
	return nil
}

func (r memberRow) fillStandby(o *observation) error {
	var err error
	if r.replay != "" {
		if o.st.ReplayLSN, err = data.ParseLSN(r.replay); err != nil {
			return err
		}
	}
	o.st.FlushLSN = o.st.ReplayLSN
	if r.recv != "" {
		l, err := data.ParseLSN(r.recv)
		if err != nil {
			return err
		}
		if l > o.st.FlushLSN {
			o.st.FlushLSN = l
		}
	}
	o.st.Timeline = uint32(max(r.ckptTLI, r.recvTLI))
	o.st.LastReplay = r.lastReplay
	o.receiving = r.recvStatus == "streaming"
	if r.sender != "" {
		o.upstreamAddr = r.sender
	} else {
		o.upstreamAddr = conninfoAddr(r.conninfo)
	}
	o.st.FollowsNobody = r.inRecovery && o.upstreamAddr == ""
	return nil
}

// conninfoAddr extracts host:port from a primary_conninfo string; the rest of it,
// the password included, is dropped here and never stored.
func conninfoAddr(ci string) string {
	var host, port string
	for _, f := range splitConninfo(ci) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "host":
			host = v
		case "port":
			port = v
		}
	}
	if host == "" {
		return ""
	}
	if port == "" {
		port = "5432"
	}
	a := net.JoinHostPort(host, port)
	if _, _, err := net.SplitHostPort(a); err != nil {
		return "" // not an address this driver could have written
	}
	return a
}

// splitConninfo splits "k=v k='v w'" into unquoted "k=v" fields.
func splitConninfo(ci string) []string {
	var out []string
	var cur strings.Builder
	quoted, esc := false, false
	for _, r := range ci {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
		case r == '\'':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, strings.ReplaceAll(cur.String(), " = ", "="))
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// lagSeconds is how far behind in time a standby is: the primary's replay_lag while it
// streams; otherwise the age of the newest transaction it replayed, or the time since
// this driver last saw it caught up.
func (d *Driver) lagSeconds(m *data.MemberStatus, r replica, streaming bool) float64 {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if m.LagBytes == 0 {
		d.caughtUp[m.Member] = now
		return 0
	}
	if streaming && r.replayLag > 0 {
		return r.replayLag
	}
	since, ok := d.caughtUp[m.Member]
	if m.LastReplay != nil && (!ok || m.LastReplay.After(since)) {
		since, ok = *m.LastReplay, true
	}
	if !ok {
		return 0
	}
	return now.Sub(since).Seconds()
}

// diverged reports whether standby m replayed past the end of its timeline in the
// primary's history.
func diverged(m *data.MemberStatus, p *observation) bool {
	if m.Timeline == 0 || m.Timeline >= p.st.Timeline {
		return false
	}
	end, ok := p.forks[m.Timeline]
	return !ok || m.ReplayLSN > end
}

// timelineForks reads the primary's timeline history file: one line per ancestor
// timeline, "parentTLI<TAB>switchpoint<TAB>reason".
func timelineForks(ctx context.Context, conn *pgx.Conn, tli uint32) (map[uint32]data.LSN, error) {
	forks := map[uint32]data.LSN{}
	if tli <= 1 {
		return forks, nil
	}
	var hist string
	if err := conn.QueryRow(ctx, `select pg_read_file($1)`, fmt.Sprintf("pg_wal/%08X.history", tli)).Scan(&hist); err != nil {
		return nil, fmt.Errorf("timeline history %d: %w", tli, err)
	}
	return parseHistory(hist), nil
}

func parseHistory(hist string) map[uint32]data.LSN {
	forks := map[uint32]data.LSN{}
	for _, line := range strings.Split(hist, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		var t uint32
		if _, err := fmt.Sscan(f[0], &t); err != nil {
			continue
		}
		if l, err := data.ParseLSN(f[1]); err == nil {
			forks[t] = l
		}
	}
	return forks
}
