package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// The bound keeper is how mode bounded keeps its promise (docs/design/data-loss-modes.md).
//
// It is a replication client of the primary, in the primary's region, named
// KeeperName, and synchronous_standby_names makes every commit wait for it
// (WantedSync). It receives the WAL stream and throws it away; what it reports as its
// flushed position is a judgement, not storage: everything received, while the DR
// member's confirmed position is younger than the bound; nothing new, while it is older.
// The primary therefore never acknowledges a commit while the DR member is more than the
// bound behind, and the failures of the keeper itself all fail safe: a keeper that
// dies, hangs, is cut off from the primary or cannot read the DR member's position
// confirms nothing, and commits wait — they cost write latency, never data. It is the
// reverse of a watcher that would switch the DR member into the synchronous set when it
// falls behind: such a watcher, once dead or cut off, lets the primary acknowledge
// without bound.
//
// The DR member's confirmed position is the primary's own view of it
// (pg_stat_replication.flush_lsn of the members outside the region), read every
// keeperPoll on a second session; the age of that position is the time since the
// keeper received the oldest WAL past it. Both err on the safe side: the primary learns
// of the DR member's flush after it happened, and a poll that does not come back leaves
// the position as old as it was.

// keeperPoll is how often the keeper reads the DR member's confirmed position.
const keeperPoll = 10 * time.Millisecond

// keeperStatusEvery is how often the keeper reports when nothing changed, well within
// wal_sender_timeout (60 s by default).
const keeperStatusEvery = time.Second

// ErrNotBounded: the set's mode is not bounded, so no keeper is needed.
var ErrNotBounded = errors.New("mirror set's data-loss mode is not bounded")

// KeeperOptions tune KeepBound.
type KeeperOptions struct {
	// OnHold, when set, is called when the keeper starts or stops holding commits,
	// with the age of the DR member's confirmed position then.
	OnHold func(holding bool, age time.Duration)
}

// judge is the keeper's decision, apart from its I/O: which WAL it received when,
// what the DR member confirmed, and what may be confirmed to the primary.
type judge struct {
	bound time.Duration
	// start is where the stream started: WAL before it was written before the keeper
	// saw it, at an unknown time, so it counts as older than any bound.
	start data.LSN
	// marks are the ends of the WAL messages received past the DR member's position,
	// with when each arrived, in order.
	marks []mark
	// end is the end of the WAL received; dr the newest DR position confirmed.
	end, dr data.LSN
	// confirmed is what the keeper reported to the primary as flushed.
	confirmed data.LSN
	holding   bool
}

type mark struct {
	end data.LSN
	at  time.Time
}

// maxMarks bounds the marks kept while the DR member does not confirm; beyond it two
// neighbours merge, keeping the earlier time (older, so safe).
const maxMarks = 1 << 16

// received records WAL up to end arriving at t.
func (j *judge) received(end data.LSN, t time.Time) {
	if end <= j.end {
		return
	}
	j.end = end
	if end <= j.dr {
		return
	}
	j.marks = append(j.marks, mark{end: end, at: t})
	if len(j.marks) > maxMarks {
		merged := j.marks[:0]
		for i := 0; i < len(j.marks); i += 2 {
			m := j.marks[i]
			if i+1 < len(j.marks) {
				m.end = j.marks[i+1].end
			}
			merged = append(merged, m)
		}
		j.marks = merged
	}
}

// drConfirmed records the DR member's confirmed position.
func (j *judge) drConfirmed(lsn data.LSN) {
	if lsn <= j.dr {
		return
	}
	j.dr = lsn
	i := 0
	for i < len(j.marks) && j.marks[i].end <= lsn {
		i++
	}
	j.marks = j.marks[i:]
}

// age is how old, at now, the oldest WAL is that the DR member has not confirmed: 0
// when it has confirmed all the keeper received; "forever" (the maximum duration) when
// it has not reached where the stream started.
func (j *judge) age(now time.Time) time.Duration {
	switch {
	case j.dr >= j.end:
		return 0
	case j.dr < j.start:
		return time.Duration(1<<63 - 1)
	case len(j.marks) == 0:
		return 0
	}
	return now.Sub(j.marks[0].at)
}

// decide returns the position to confirm at now: everything received while the DR
// member's confirmed position is younger than the bound, else what was confirmed
// before (commits past it wait).
func (j *judge) decide(now time.Time) data.LSN {
	j.holding = j.age(now) >= j.bound
	if !j.holding && j.end > j.confirmed {
		j.confirmed = j.end
	}
	return j.confirmed
}

// KeepBound runs the bound keeper against member, which must be the primary, until ctx
// ends or the stream breaks (a lost connection, a promotion elsewhere, a poll that
// fails): it returns the reason, and the caller starts it again. While no keeper runs,
// commits of a bounded set wait. See the package comment above judge.
func (d *Driver) KeepBound(ctx context.Context, member string, opts KeeperOptions) error {
	if d.cfg.Loss.EffectiveMode() != v1alpha1.DataLossBounded {
		return retry.Permanent("keep bound of %s: %w", d.cfg.Set.Name, ErrNotBounded)
	}
	m, err := d.member(member)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sqlConn, err := d.connect(ctx, m, "postgres")
	if err != nil {
		return fmt.Errorf("keep bound on %s: %w", member, err)
	}
	defer sqlConn.Close(context.Background())
	var recovery bool
	if err := sqlConn.QueryRow(ctx, `select pg_is_in_recovery()`).Scan(&recovery); err != nil {
		return fmt.Errorf("keep bound on %s: %w", member, err)
	}
	if recovery {
		return retry.Retryable("keep bound on %s: %w: it is a standby", member, data.ErrNoPrimary)
	}
	var dr []string
	for _, o := range d.cfg.Set.Spec.Members {
		if d.region(o) != d.region(m) {
			dr = append(dr, o.Name)
		}
	}
	conn, start, err := d.startKeeperStream(ctx, m)
	if err != nil {
		return fmt.Errorf("keep bound on %s: %w", member, err)
	}
	j := &judge{bound: d.cfg.Loss.Bound.Duration, start: start, end: start}
	log := d.log.With("member", member, "bound", j.bound)
	log.Info("bound keeper streams", "from", start)

	type walMsg struct {
		end   data.LSN
		reply bool
		at    time.Time
		err   error
	}
	wal := make(chan walMsg, 256)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		conn.Close() // ends the reader's Receive
		wg.Wait()
	}()
	wg.Add(2)
	go func() { // the stream: one reader
		defer wg.Done()
		for {
			end, reply, err := conn.next()
			select {
			case wal <- walMsg{end: end, reply: reply, at: time.Now(), err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	drPos := make(chan data.LSN, 1)
	pollErr := make(chan error, 1)
	go func() { // the DR member's confirmed position, as the primary sees it
		defer wg.Done()
		t := time.NewTicker(keeperPoll)
		defer t.Stop()
		for {
			var s string
			qctx, qcancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
			err := sqlConn.QueryRow(qctx, `select coalesce(max(flush_lsn)::text, '') from pg_stat_replication where application_name = any($1)`, dr).Scan(&s)
			qcancel()
			if err != nil {
				if ctx.Err() == nil {
					pollErr <- fmt.Errorf("DR position: %w", err)
				}
				return
			}
			if s != "" {
				if lsn, err := data.ParseLSN(s); err == nil {
					select { // the newest only
					case <-drPos:
					default:
					}
					drPos <- lsn
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	status := time.NewTicker(keeperStatusEvery)
	defer status.Stop()
	reported := data.LSN(0)
	wasHolding := false
	report := func(force bool) error {
		now := time.Now()
		p := j.decide(now)
		if j.holding != wasHolding {
			wasHolding = j.holding
			age := j.age(now)
			switch {
			case j.holding && j.dr < j.start:
				log.Warn("bound keeper holds commits: the DR member has not confirmed where the keeper's stream started", "dr", j.dr, "start", j.start)
			case j.holding:
				log.Warn("bound keeper holds commits: the DR member's confirmed position is older than the bound", "age", age, "dr", j.dr, "received", j.end)
			default:
				log.Info("bound keeper lets commits through again", "age", age, "dr", j.dr)
			}
			if opts.OnHold != nil {
				opts.OnHold(j.holding, age)
			}
		}
		if p == reported && !force {
			return nil
		}
		reported = p
		return conn.status(p)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-pollErr:
			return fmt.Errorf("keep bound on %s: %w", member, err)
		case msg := <-wal:
			if msg.err != nil {
				return fmt.Errorf("keep bound on %s: stream: %w", member, msg.err)
			}
			j.received(msg.end, msg.at)
			// Drain what else arrived, then answer once.
			for more := true; more; {
				select {
				case m2 := <-wal:
					if m2.err != nil {
						return fmt.Errorf("keep bound on %s: stream: %w", member, m2.err)
					}
					j.received(m2.end, m2.at)
					msg.reply = msg.reply || m2.reply
				default:
					more = false
				}
			}
			if err := report(msg.reply); err != nil {
				return fmt.Errorf("keep bound on %s: %w", member, err)
			}
		case lsn := <-drPos:
			j.drConfirmed(lsn)
			if err := report(false); err != nil {
				return fmt.Errorf("keep bound on %s: %w", member, err)
			}
		case <-status.C:
			if err := report(true); err != nil {
				return fmt.Errorf("keep bound on %s: %w", member, err)
			}
		}
	}
}

// keeperConn is the keeper's replication stream once it has started: one goroutine
// reads (next), another writes (status); the connection allows both at once.
type keeperConn struct {
	raw net.Conn
	fe  *pgproto3.Frontend
	mu  sync.Mutex // serialises writes
}

func (c *keeperConn) Close() { c.raw.Close() }

// next reads the next WAL or keepalive message: the end of the WAL the primary sent so
// far, and whether it asks for an answer now.
func (c *keeperConn) next() (data.LSN, bool, error) {
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			return 0, false, err
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			b := msg.Data
			switch {
			case len(b) >= 25 && b[0] == 'w': // XLogData: start, end of WAL on the server, time, data
				start := binary.BigEndian.Uint64(b[1:9])
				return data.LSN(start + uint64(len(b)-25)), false, nil
			case len(b) >= 18 && b[0] == 'k': // keepalive: end of WAL, time, reply requested
				return 0, b[17] == 1, nil
			}
		case *pgproto3.ErrorResponse:
			return 0, false, pgconn.ErrorResponseToPgError(msg)
		case *pgproto3.CopyDone:
			return 0, false, errors.New("the primary ended the stream")
		}
	}
}

// pgEpoch is PostgreSQL's timestamp origin.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// status sends a standby status update reporting p as written, flushed and applied, so
// that every synchronous_commit level waits for the keeper's judgement.
func (c *keeperConn) status(p data.LSN) error {
	payload := make([]byte, 34)
	payload[0] = 'r'
	binary.BigEndian.PutUint64(payload[1:], uint64(p))
	binary.BigEndian.PutUint64(payload[9:], uint64(p))
	binary.BigEndian.PutUint64(payload[17:], uint64(p))
	binary.BigEndian.PutUint64(payload[25:], uint64(time.Since(pgEpoch).Microseconds()))
	frame := make([]byte, 5, 5+len(payload))
	frame[0] = 'd'
	binary.BigEndian.PutUint32(frame[1:], uint32(4+len(payload)))
	frame = append(frame, payload...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.raw.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err := c.raw.Write(frame)
	return err
}

// startKeeperStream opens a physical replication connection to m as the replication
// role, named KeeperName, and starts streaming at the primary's current flush
// position (IDENTIFY_SYSTEM): it returns the stream and that position.
func (d *Driver) startKeeperStream(ctx context.Context, m v1alpha1.Member) (*keeperConn, data.LSN, error) {
	addr := addrFrom(m, d.cfg.Region)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, retry.Permanent("%s: address %q: %w", m.Name, addr, err)
	}
	p, _ := strconv.Atoi(port)
	cc, err := pgconn.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, 0, err
	}
	cc.Host, cc.Port, cc.User, cc.Password, cc.Database = host, uint16(p), d.replUser(), replicationPassword(d.cfg.Password), "postgres"
	cc.ConnectTimeout = d.cfg.ConnectTimeout
	cc.TLSConfig = clientTLS(d.cfg.TLS.mode(), d.roots, host)
	cc.Fallbacks = nil
	cc.RuntimeParams["application_name"] = KeeperName
	cc.RuntimeParams["replication"] = "true"
	cctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	pc, err := pgconn.ConnectConfig(cctx, cc)
	if err != nil {
		return nil, 0, classify(m.Name, err)
	}
	res, err := pc.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) < 3 {
		pc.Close(context.Background())
		return nil, 0, fmt.Errorf("IDENTIFY_SYSTEM: %v", err)
	}
	row := res[0].Rows[0]
	tli := string(row[1])
	start, err := data.ParseLSN(string(row[2]))
	if err != nil {
		pc.Close(context.Background())
		return nil, 0, err
	}
	fe := pc.Frontend()
	fe.SendQuery(&pgproto3.Query{String: fmt.Sprintf("START_REPLICATION PHYSICAL %s TIMELINE %s", start, tli)})
	if err := fe.Flush(); err != nil {
		pc.Close(context.Background())
		return nil, 0, err
	}
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			pc.Close(context.Background())
			return nil, 0, err
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyBothResponse:
			hc, err := pc.Hijack()
			if err != nil {
				pc.Close(context.Background())
				return nil, 0, err
			}
			return &keeperConn{raw: hc.Conn, fe: hc.Frontend}, start, nil
		case *pgproto3.ErrorResponse:
			pc.Close(context.Background())
			return nil, 0, pgconn.ErrorResponseToPgError(msg)
		}
	}
}
