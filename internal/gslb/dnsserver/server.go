// Package dnsserver is hadron's authoritative DNS server for the GSLB zones: UDP and
// TCP on github.com/miekg/dns. The common query shapes are answered from bytes
// precomputed per state version (fastpath.go); everything else goes through a short
// chain of handlers (handler.go) that answers from the pure gslb.Catalog.Answer.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// Config says where and how a server listens.
type Config struct {
	// Addr is host:port for both UDP and TCP; port 0 picks a free one.
	Addr   string
	Engine *Engine
	Log    *slog.Logger
	// RRL limits UDP responses per source network.
	RRL RateLimit
	// Sockets is how many UDP sockets share the port (SO_REUSEPORT), each with its own
	// reader; default GOMAXPROCS.
	Sockets int
}

// Server is a running DNS server.
type Server struct {
	cfg     Config
	udp     []*net.UDPConn
	tcp     net.Listener
	chain   Handler
	limiter *limiter
	log     *slog.Logger
	now     func() int64
	// queries counts the queries received (UDP and TCP), for metrics.
	queries atomic.Uint64
}

// Queries is how many queries the server has received.
func (s *Server) Queries() uint64 { return s.queries.Load() }

// Listen binds the UDP sockets and the TCP listener.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = runtime.GOMAXPROCS(0)
	}
	s := &Server{cfg: cfg, chain: Chain(Answer(cfg.Engine), Sanitize), limiter: newLimiter(cfg.RRL),
		log: cfg.Log, now: func() int64 { return time.Now().UnixNano() }}
	var err error
	// With port 0 the UDP port is chosen first and TCP must get the same one; another
	// process may hold it for TCP, so try a few times.
	for try := 0; try < 5; try++ {
		if err = s.bind(cfg.Addr); err == nil {
			return s, nil
		}
		s.closeAll()
	}
	return nil, err
}

func (s *Server) bind(addr string) error {
	lc := net.ListenConfig{Control: reusePort}
	first, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	s.udp = []*net.UDPConn{first.(*net.UDPConn)}
	bound := first.LocalAddr().String()
	for i := 1; i < s.cfg.Sockets; i++ {
		c, err := lc.ListenPacket(context.Background(), "udp", bound)
		if err != nil {
			return fmt.Errorf("listen udp %s: %w", bound, err)
		}
		s.udp = append(s.udp, c.(*net.UDPConn))
	}
	s.tcp, err = net.Listen("tcp", bound)
	if err != nil {
		return fmt.Errorf("listen tcp %s: %w", bound, err)
	}
	return nil
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	return errors.Join(err, serr)
}

func (s *Server) closeAll() {
	for _, c := range s.udp {
		c.Close()
	}
	s.udp = nil
	if s.tcp != nil {
		s.tcp.Close()
		s.tcp = nil
	}
}

// Close releases the listeners of a server that will not Serve (its owner failed to
// start); Serve closes them itself when its context ends.
func (s *Server) Close() { s.closeAll() }

// Addr is the address the server listens on (UDP and TCP).
func (s *Server) Addr() string { return s.udp[0].LocalAddr().String() }

// Serve answers until ctx ends, then closes the sockets.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range s.udp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveUDP(c)
		}()
	}
	tcp := &dns.Server{Listener: s.tcp, Net: "tcp", Handler: dns.HandlerFunc(s.serveTCP),
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }}
	errc := make(chan error, 1)
	go func() { errc <- tcp.ActivateAndServe() }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve tcp: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tcp.ShutdownContext(sctx)
	for _, c := range s.udp {
		c.Close()
	}
	wg.Wait()
	return err
}

func (s *Server) serveUDP(c *net.UDPConn) {
	buf := make([]byte, dns.MaxMsgSize)
	out := make([]byte, dns.MaxMsgSize)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if m := s.handlePacket(buf[:n], out, src); m > 0 {
			c.WriteToUDPAddrPort(out[:m], src)
		}
	}
}

// handlePacket answers one UDP query into out and returns the reply's length (0: no
// reply).
func (s *Server) handlePacket(pkt, out []byte, src netip.AddrPort) int {
	s.queries.Add(1)
	if s.limiter != nil {
		switch s.limiter.check(src.Addr(), s.now()) {
		case rrlDrop:
			return 0
		case rrlSlip:
			return tcReply(pkt, out)
		}
	}
	e := s.cfg.Engine
	if c := e.current(); c != nil {
		if n, ok := c.fastReply(pkt, out, src.Addr().Unmap(), &e.seq); ok {
			return n
		}
	}
	return s.slowPacket(pkt, out, src)
}

// slowPacket runs the handler chain on a parsed message.
func (s *Server) slowPacket(pkt, out []byte, src netip.AddrPort) int {
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil {
		return formErr(pkt, out)
	}
	w := &udpWriter{remote: net.UDPAddrFromAddrPort(src), out: out}
	if s.tcp != nil {
		w.local = s.tcp.Addr()
	}
	if _, err := s.chain.ServeDNS(context.Background(), w, req); err != nil {
		s.log.Debug("query failed", "err", err)
	}
	return w.n
}

func (s *Server) serveTCP(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	if _, err := s.chain.ServeDNS(context.Background(), w, r); err != nil {
		s.log.Debug("query failed", "err", err)
	}
}

// formErr answers a message that does not parse with FORMERR when at least its header
// is there, keeping only the ID and opcode.
func formErr(pkt, out []byte) int {
	if len(pkt) < 12 || pkt[2]&flagQR != 0 {
		return 0
	}
	clear(out[:12])
	out[0], out[1] = pkt[0], pkt[1]
	out[2] = flagQR | pkt[2]&0x78
	out[3] = dns.RcodeFormatError
	return 12
}

// udpWriter captures the chain's reply into the read loop's buffer.
type udpWriter struct {
	local  net.Addr
	remote *net.UDPAddr
	out    []byte
	n      int
}

func (w *udpWriter) LocalAddr() net.Addr  { return w.local }
func (w *udpWriter) RemoteAddr() net.Addr { return w.remote }
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.PackBuffer(w.out)
	if err != nil {
		return fmt.Errorf("pack reply: %w", err)
	}
	if &b[0] != &w.out[0] {
		copy(w.out, b)
	}
	w.n = len(b)
	return nil
}
func (w *udpWriter) Write(b []byte) (int, error) { w.n = copy(w.out, b); return w.n, nil }
func (w *udpWriter) Close() error                { return nil }
func (w *udpWriter) TsigStatus() error           { return nil }
func (w *udpWriter) TsigTimersOnly(bool)         {}
func (w *udpWriter) Hijack()                     {}
