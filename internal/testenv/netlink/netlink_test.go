package netlink

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoServer is an upstream that writes back whatever it reads, on 127.0.0.1:0.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back through the echo server.
func roundTrip(t *testing.T, c net.Conn, msg []byte) []byte {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back %d bytes: %v", len(msg), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBytesArriveIntactAndInOrder(t *testing.T) {
	// Several sizes, the largest many chunks long, with and without latency (the queued
	// path must keep order as the direct one does).
	random := make([]byte, 3<<20)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		latency time.Duration
		size    int
	}{
		{"one byte", 0, 1},
		{"one chunk", 0, chunkSize},
		{"many chunks", 0, len(random)},
		{"many chunks, slow", 20 * time.Millisecond, len(random)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Listen(t, "127.0.0.1:0", echoServer(t), tc.latency)
			c := dial(t, l.Addr())
			msg := random[:tc.size]
			if got := roundTrip(t, c, msg); !bytes.Equal(got, msg) {
				t.Fatalf("%d bytes came back changed or reordered", len(msg))
			}
		})
	}
}

func TestLatencyDelaysEachDirection(t *testing.T) {
	const latency = 50 * time.Millisecond
	l := Listen(t, "127.0.0.1:0", echoServer(t), latency)
	c := dial(t, l.Addr())
	for i := 0; i < 3; i++ {
		start := time.Now()
		roundTrip(t, c, []byte("ping"))
		// There and back: the latency applies once each way. Only a lower bound: a busy
		// machine may add any amount.
		if rtt := time.Since(start); rtt < 2*latency {
			t.Fatalf("round trip %d took %v, want at least %v", i, rtt, 2*latency)
		}
	}
}

func TestHalfCloseDeliversTheReply(t *testing.T) {
	// The client closes its write side after the request; the echo reply still arrives
	// and then EOF, as over a direct connection.
	l := Listen(t, "127.0.0.1:0", echoServer(t), 10*time.Millisecond)
	c := dial(t, l.Addr()).(*net.TCPConn)
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("after a half-close read %q, %v; want the echo then EOF", got, err)
	}
}

func TestCutBreaksConnectionsAndRefusesThenHealAccepts(t *testing.T) {
	l := Listen(t, "127.0.0.1:0", echoServer(t), 0)
	addr := l.Addr()
	c := dial(t, addr)
	roundTrip(t, c, []byte("before"))

	l.Cut()
	if l.Up() {
		t.Fatal("Up after Cut")
	}
	// The established connection is broken: reading ends (EOF or reset), not a timeout.
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read on a connection across a cut link: %v, want it closed", err)
	}
	// New connections are refused.
	if nc, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		nc.Close()
		t.Fatal("dial through a cut link succeeded")
	}
	l.Cut() // cutting again does nothing

	if err := l.Heal(); err != nil {
		t.Fatal(err)
	}
	if l.Addr() != addr {
		t.Fatalf("healed on %s, want the same address %s", l.Addr(), addr)
	}
	if err := l.Heal(); err != nil { // healing a link that is up does nothing
		t.Fatal(err)
	}
	if got := roundTrip(t, dial(t, addr), []byte("after")); string(got) != "after" {
		t.Fatalf("after Heal read %q", got)
	}
}

func TestCutWhileChunksWait(t *testing.T) {
	// A cut during the latency wait must not hang on the queued chunks.
	l := Listen(t, "127.0.0.1:0", echoServer(t), time.Hour)
	c := dial(t, l.Addr())
	if _, err := c.Write([]byte("never delivered")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the link read it into its queue
	done := make(chan struct{})
	go func() { l.Cut(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Cut did not return while a chunk waited out its latency")
	}
}

func TestUnreachableUpstreamClosesTheClient(t *testing.T) {
	// An upstream that refuses: the client's connection through the link closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	l := Listen(t, "127.0.0.1:0", dead, 0)
	c := dial(t, l.Addr())
	if err := c.SetReadDeadline(time.Now().Add(DialTimeout + 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read through a link to a dead upstream succeeded")
	}
}

func TestStartTwiceFails(t *testing.T) {
	l := Listen(t, "127.0.0.1:0", "127.0.0.1:1", 0)
	if err := l.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	// Another link cannot take an address in use, and says which.
	if err := New(l.Addr(), "127.0.0.1:1").Start(); err == nil {
		t.Fatal("Start on an address in use succeeded")
	}
}
