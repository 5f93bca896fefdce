package member

import (
	"hadron.dev/hadron/internal/coord"

	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"hadron.dev/hadron/internal/fleet"
)

// RelayPlan says how a member's relay forwards peer connections.
//
// etcd names every member by one URL for the whole cluster, but a fleet may say that
// region F reaches this member at another address (a private link; in the lab a
// toxiproxy listener that a partition cuts). So the advertised peer address is a relay
// that ends the peer's TLS, reads which site is calling from its client certificate
// (common name = site name, as the PKI issues them), and sends the connection on
// through the address the fleet gives for that site's region. The relay receives it
// again from the link, now under its own site's certificate, and hands it to the
// member on its internal port. Peer traffic thus takes exactly the fleet's paths, and
// cutting a link cuts etcd traffic too. etcd's own member-local-address option cannot
// do this: it ignores loopback addresses, which is all the lab has.
type RelayPlan struct {
	// Site is the local site; Listen the advertised peer address; Internal the
	// member's own listener.
	Site, Listen, Internal string
	// Routes maps a peer site to the address its connections are sent through.
	Routes map[string]string
}

// Route returns where a connection from the site named by the peer's certificate
// goes: through a link, or to the member.
func (p *RelayPlan) Route(site string) string {
	if to, ok := p.Routes[site]; ok {
		return to
	}
	return p.Internal
}

func planRelay(f *fleet.Fleet, local string) (*RelayPlan, error) {
	me := f.Site(local)
	host, port, err := net.SplitHostPort(me.Spec.Daemon.Peer.Address)
	if err != nil {
		return nil, fmt.Errorf("site %s: spec.daemon.peer.address: %w", local, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n+relayPortOffset > 65535 {
		return nil, fmt.Errorf("site %s: spec.daemon.peer.address: port %s leaves no room for the member behind the relay", local, port)
	}
	p := &RelayPlan{Site: local, Listen: me.Spec.Daemon.Peer.Address, Internal: net.JoinHostPort(host, strconv.Itoa(n+relayPortOffset)),
		Routes: map[string]string{}}
	for _, s := range f.Sites {
		if s.Name == local || s.Spec.Daemon == nil || s.Spec.Daemon.Peer == nil {
			continue
		}
		via, ok := me.Spec.Daemon.Peer.FromRegions[s.Spec.Region]
		if !ok || via == "" || s.Spec.Region == me.Spec.Region {
			continue
		}
		p.Routes[s.Name] = via
	}
	return p, nil
}

// Relay is a running relay.
type Relay struct {
	plan   *RelayPlan
	ln     net.Listener
	client *tls.Config
	log    *slog.Logger
	wg     sync.WaitGroup
}

// StartRelay listens on the plan's advertised address with the site's certificate.
func StartRelay(p *RelayPlan, pki coord.PKI, log *slog.Logger) (*Relay, error) {
	// The pair is read again when its files change: both legs present the rotated
	// certificate from their next handshake on.
	pair, err := pki.Pair(p.Site)
	if err != nil {
		return nil, fmt.Errorf("peer relay: %w", err)
	}
	pool, err := pki.CertPool()
	if err != nil {
		return nil, fmt.Errorf("peer relay: %w", err)
	}
	// etcd's peer transport speaks HTTP/1.1; both legs are pinned to it so that the
	// protocol negotiated with the caller is the one spoken to the member.
	server := &tls.Config{GetCertificate: pair.GetCertificate, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	client := &tls.Config{GetClientCertificate: pair.GetClientCertificate, RootCAs: pool, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	ln, err := tls.Listen("tcp", p.Listen, server)
	if err != nil {
		return nil, fmt.Errorf("peer relay: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{plan: p, ln: ln, client: client, log: log}, nil
}

// Serve forwards connections until ctx ends.
func (r *Relay) Serve(ctx context.Context) {
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	go func() {
		<-ctx.Done()
		r.ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			break
		}
		mu.Lock()
		open[c] = struct{}{}
		mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.forward(ctx, c, &mu, open)
		}()
	}
	r.wg.Wait()
}

func (r *Relay) forward(ctx context.Context, c net.Conn, mu *sync.Mutex, open map[net.Conn]struct{}) {
	defer func() {
		c.Close()
		mu.Lock()
		delete(open, c)
		mu.Unlock()
	}()
	tc := c.(*tls.Conn)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		r.log.Debug("peer relay: handshake", "from", c.RemoteAddr(), "err", err)
		return
	}
	src := tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	to := r.plan.Route(src)
	cfg := r.client.Clone()
	if host, _, err := net.SplitHostPort(to); err == nil {
		cfg.ServerName = host
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: cfg}
	up, err := d.DialContext(ctx, "tcp", to)
	if err != nil {
		// A cut link: the peer sees its connection closed, as with a dead link.
		r.log.Debug("peer relay: upstream refused", "from", src, "to", to, "err", err)
		return
	}
	mu.Lock()
	open[up] = struct{}{}
	mu.Unlock()
	defer func() {
		up.Close()
		mu.Lock()
		delete(open, up)
		mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Closing both ends stops the other direction too.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}
