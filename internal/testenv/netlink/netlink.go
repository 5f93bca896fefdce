// Package netlink puts a cuttable, optionally slow TCP link between processes in a
// test: a Link listens on one address and forwards every connection it accepts to an
// upstream. Cut behaves like a network partition (the listener and every established
// connection close at once), Heal brings the link back on the same address, and a
// one-way latency delays every chunk of bytes in each direction, as a long-haul path
// would.
//
// It is test support only, written so that the product module need not depend on a
// proxy server for its tests (the lab, a separate module, uses toxiproxy for its real
// links). Product code must not import it.
package netlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DialTimeout bounds the dial to the upstream for each accepted connection, so that a
// black-holed upstream fails the client's connection instead of holding it forever.
const DialTimeout = 5 * time.Second

const (
	// chunkSize is the most one read takes from a connection before it is queued.
	chunkSize = 32 << 10
	// queueLen is how many chunks a direction holds in flight. It has to cover one
	// latency's worth of chunks at the rates the tests drive (a WAL stream sends many
	// small chunks), or the queue rather than the latency would limit throughput.
	queueLen = 4096
)

// Link forwards connections from Listen to Upstream. The zero value is not usable; make
// one with New (then Start) or Listen.
type Link struct {
	upstream string
	latency  atomic.Int64 // one-way, per direction, in nanoseconds

	mu     sync.Mutex
	listen string   // after the first Start, the address actually bound
	up     *session // nil while the link is cut (or before Start)
}

// session is one period of the link being up, from Start or Heal to Cut: its
// listener, and every connection accepted through it, live and die together.
type session struct {
	ln     net.Listener
	ctx    context.Context // done when the link is cut
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection's goroutines
}

// New returns a link from listen to upstream, not yet listening.
func New(listen, upstream string) *Link {
	return &Link{listen: listen, upstream: upstream}
}

// Listen starts a link from listen to upstream with the given one-way latency (0 for
// none), fails t if it cannot listen, and closes the link when t ends.
func Listen(t testing.TB, listen, upstream string, latency time.Duration) *Link {
	t.Helper()
	l := New(listen, upstream)
	l.SetLatency(latency)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Cut)
	return l
}

// SetLatency sets the one-way delay each direction adds to every chunk of bytes. It
// applies to the chunks read from then on, on open connections too.
func (l *Link) SetLatency(d time.Duration) { l.latency.Store(int64(d)) }

// Latency is the one-way delay of each direction.
func (l *Link) Latency() time.Duration { return time.Duration(l.latency.Load()) }

// Addr is the address the link listens on (the bound one once started, so that a
// listen address with port 0 is the real port from then on, and Heal reuses it).
func (l *Link) Addr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listen
}

// Upstream is the address every connection is forwarded to.
func (l *Link) Upstream() string { return l.upstream }

// Up reports whether the link is listening (started and not cut).
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up != nil
}

// Start listens and forwards connections until Cut. It fails if the link is already
// up, or if the address cannot be bound.
func (l *Link) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up != nil {
		return fmt.Errorf("netlink %s→%s: already up", l.listen, l.upstream)
	}
	ln, err := net.Listen("tcp", l.listen)
	if err != nil {
		return fmt.Errorf("netlink %s→%s: listen: %w", l.listen, l.upstream, err)
	}
	// Remember the bound address: Heal must come back where the clients look.
	l.listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{ln: ln, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go l.accept(s)
	l.up = s
	return nil
}

// Heal brings a cut link back on the same address; on a link that is up it does
// nothing.
func (l *Link) Heal() error {
	if l.Up() {
		return nil
	}
	return l.Start()
}

// Cut partitions the link: the listener closes, so new connections are refused, and
// every established connection closes on both sides, so that streams through the
// link break instead of stalling. It returns when every goroutine of the link has
// ended. Cutting a link that is down does nothing.
func (l *Link) Cut() {
	l.mu.Lock()
	s := l.up
	l.up = nil
	l.mu.Unlock()
	if s == nil {
		return
	}
	s.cancel()
	_ = s.ln.Close() // unblocks Accept; the error is only "already closed"
	s.wg.Wait()
}

// accept serves s's listener until it closes.
func (l *Link) accept(s *session) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient failure (out of file descriptors, an aborted handshake):
			// back off briefly rather than spin or give up on the link.
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		s.wg.Add(1)
		go l.serve(s, c)
	}
}

// serve forwards one accepted connection to the upstream until both directions end,
// either end fails, or the link is cut.
func (l *Link) serve(s *session, client net.Conn) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, DialTimeout)
	var d net.Dialer
	up, err := d.DialContext(dctx, "tcp", l.upstream)
	dcancel()
	if err != nil {
		// The upstream is down or unreachable: the client sees its connection close,
		// as it would through a real proxy. Nobody waits for this error.
		_ = client.Close()
		return
	}
	// Closing both ends is what breaks a connection, whether the link is cut (s.ctx)
	// or one direction failed (cancel); it also unblocks the pending reads and writes.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-ctx.Done()
		_ = client.Close()
		_ = up.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.pipe(ctx, cancel, up, client) }()
	go func() { defer wg.Done(); l.pipe(ctx, cancel, client, up) }()
	wg.Wait()
	cancel()
	<-closed
}

// chunk is bytes read from one end, due at the other end at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, holding each chunk until its read time plus the latency.
// A reader goroutine queues timestamped chunks and this one writes them in order, so
// the delay does not throttle the stream to one chunk per latency. At src's EOF, after
// the queue drains, dst's write side closes (a half-close, as TCP allows) and the
// other direction goes on; any other failure aborts the whole connection.
func (l *Link) pipe(ctx context.Context, abort context.CancelFunc, dst, src net.Conn) {
	q := make(chan chunk, queueLen)
	var rerr error // set before q closes, read after
	go func() {
		defer close(q)
		buf := make([]byte, chunkSize)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				c := chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(l.Latency())}
				select {
				case q <- c:
				case <-ctx.Done():
					rerr = ctx.Err()
					return
				}
			}
			if err != nil {
				rerr = err
				return
			}
		}
	}()
	// On an early return, abort the connection, which ends the reader (its conn
	// closes, its send sees ctx), then drain the queue so that it has ended.
	defer func() {
		for range q {
		}
	}()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
				abort()
				return
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			abort()
			return
		}
	}
	if !errors.Is(rerr, io.EOF) {
		abort()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	abort()
}
