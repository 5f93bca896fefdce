package lbservice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	dialTimeout = 3 * time.Second
	// udpIdle ends a UDP session with no datagram either way for this long: UDP has no
	// close, so without it every client address would hold a socket forever.
	udpIdle = 30 * time.Second
	// maxDatagram is the largest UDP payload there is; a smaller buffer would truncate.
	maxDatagram = 64 << 10
)

// forwarder serves one ServicePort on the Service's address, sending each new TCP
// connection or UDP session to the next ready backend.
type forwarder struct {
	log *slog.Logger
	// backends is asked afresh for every connection, so endpoint changes reach new
	// connections without touching the listener.
	backends func() []string
	next     atomic.Uint64

	ctx    context.Context // ends at close, cancelling dials under way
	cancel context.CancelFunc
	ln     io.Closer
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	conns    map[io.Closer]struct{}         // client and backend connections, UDP session sockets
	sessions map[netip.AddrPort]*udpSession // UDP only, by client address
}

func newForwarder(log *slog.Logger, backends func() []string) *forwarder {
	ctx, cancel := context.WithCancel(context.Background())
	return &forwarder{log: log, backends: backends, ctx: ctx, cancel: cancel,
		conns: map[io.Closer]struct{}{}, sessions: map[netip.AddrPort]*udpSession{}}
}

// listenTCP serves TCP on addr:port.
func listenTCP(log *slog.Logger, addr string, port int32, backends func() []string) (*forwarder, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		return nil, err
	}
	f := newForwarder(log, backends)
	f.ln = ln
	f.wg.Add(1)
	go f.acceptTCP(ln.(*net.TCPListener))
	return f, nil
}

// listenUDP serves UDP on addr:port.
func listenUDP(log *slog.Logger, addr string, port int32, backends func() []string) (*forwarder, error) {
	ap, err := netip.ParseAddrPort(net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	f := newForwarder(log, backends)
	f.ln = pc
	f.wg.Add(1)
	go f.serveUDP(pc)
	return f, nil
}

// close stops listening and cuts every connection and session, as a crashed load
// balancer would, and returns once every goroutine of the forwarder has.
func (f *forwarder) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	f.cancel()
	f.ln.Close()
	for c := range conns {
		// A reset rather than a FIN: the peers must see the connection broken, not
		// ended cleanly.
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	f.wg.Wait()
}

// track registers c for close to cut; false once the forwarder is closed, and then the
// caller must drop c itself.
func (f *forwarder) track(c io.Closer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c io.Closer) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// pick returns the next ready backend in round-robin order.
func (f *forwarder) pick() (string, bool) {
	bs := f.backends()
	if len(bs) == 0 {
		return "", false
	}
	return bs[(f.next.Add(1)-1)%uint64(len(bs))], true
}

func (f *forwarder) acceptTCP(ln *net.TCPListener) {
	defer f.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if f.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off instead of spinning.
			f.log.Warn("accept", "err", err)
			select {
			case <-f.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		f.wg.Add(1)
		go f.serveTCP(c)
	}
}

func (f *forwarder) serveTCP(client *net.TCPConn) {
	defer f.wg.Done()
	if !f.track(client) {
		client.Close()
		return
	}
	defer func() { f.untrack(client); client.Close() }()
	backend, ok := f.pick()
	if !ok {
		// Closing at once tells the client there is nothing behind the address, as a
		// cloud load balancer with no healthy target does.
		f.log.Debug("no ready endpoint", "client", client.RemoteAddr())
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	bc, err := d.DialContext(f.ctx, "tcp", backend)
	if err != nil {
		f.log.Info("dial backend", "backend", backend, "err", err)
		return
	}
	if !f.track(bc) {
		bc.Close()
		return
	}
	defer func() { f.untrack(bc); bc.Close() }()
	splice(client, bc.(*net.TCPConn))
}

// splice copies both ways until both directions have ended. An EOF on one side is
// passed on as a half-close, so protocols that end their request with a shutdown
// still get their answer; an error on either side aborts both.
func splice(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	half := func(dst, src *net.TCPConn) {
		defer wg.Done()
		if _, err := io.Copy(dst, src); err != nil {
			a.Close()
			b.Close()
			return
		}
		dst.CloseWrite()
	}
	wg.Add(2)
	go half(b, a)
	go half(a, b)
	wg.Wait()
}

// udpSession is one client address's flow to the backend chosen for it.
type udpSession struct {
	conn *net.UDPConn // connected to the backend
	last atomic.Int64 // unix nanoseconds of the latest datagram either way
}

func (f *forwarder) serveUDP(pc *net.UDPConn) {
	defer f.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if f.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			f.log.Warn("read", "err", err)
			continue
		}
		s, err := f.session(pc, src)
		if err != nil {
			f.log.Debug("drop datagram", "client", src, "err", err)
			continue
		}
		s.last.Store(time.Now().UnixNano())
		if _, err := s.conn.Write(buf[:n]); err != nil {
			// Most likely the backend refused (ICMP port unreachable): start over with
			// the next backend on the client's next datagram.
			f.log.Debug("write backend", "client", src, "err", err)
			f.endSession(src, s)
		}
	}
}

// session returns src's session, starting one with the next backend if there is none.
func (f *forwarder) session(pc *net.UDPConn, src netip.AddrPort) (*udpSession, error) {
	f.mu.Lock()
	s := f.sessions[src]
	f.mu.Unlock()
	if s != nil {
		return s, nil
	}
	backend, ok := f.pick()
	if !ok {
		return nil, errors.New("no ready endpoint")
	}
	raddr, err := net.ResolveUDPAddr("udp", backend)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", backend, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", backend, err)
	}
	s = &udpSession{conn: conn}
	s.last.Store(time.Now().UnixNano())
	if !f.track(conn) {
		conn.Close()
		return nil, net.ErrClosed
	}
	f.mu.Lock()
	f.sessions[src] = s
	f.mu.Unlock()
	f.wg.Add(1)
	go f.relayReplies(pc, src, s)
	return s, nil
}

// relayReplies sends the backend's datagrams back to the client from the listener's
// address — the one the client sent to — until the session idles out or fails.
func (f *forwarder) relayReplies(pc *net.UDPConn, src netip.AddrPort, s *udpSession) {
	defer f.wg.Done()
	defer f.endSession(src, s)
	buf := make([]byte, maxDatagram)
	for {
		s.conn.SetReadDeadline(time.Unix(0, s.last.Load()).Add(udpIdle))
		n, err := s.conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, s.last.Load())) < udpIdle {
				continue // the client spoke meanwhile
			}
			return
		}
		s.last.Store(time.Now().UnixNano())
		if _, err := pc.WriteToUDPAddrPort(buf[:n], src); err != nil {
			f.log.Debug("write client", "client", src, "err", err)
		}
	}
}

func (f *forwarder) endSession(src netip.AddrPort, s *udpSession) {
	f.mu.Lock()
	if f.sessions[src] == s {
		delete(f.sessions, src)
	}
	delete(f.conns, s.conn)
	f.mu.Unlock()
	s.conn.Close()
}
