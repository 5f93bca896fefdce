package dnsserver

import (
	"hash/maphash"
	"net/netip"
	"sync"
)

// RateLimit configures response rate limiting per source network over UDP, where a
// source address can be forged to aim answers at a victim. TCP is not limited.
type RateLimit struct {
	// Rate is the responses per second allowed to one source network; 0 disables.
	Rate int
	// Burst is how many responses may be sent at once (default Rate).
	Burst int
	// Slip: every Slip-th limited response is sent as an empty truncated reply so a
	// real client behind the network retries over TCP; 0 drops them all (default 2).
	Slip int
	// IPv4Prefix and IPv6Prefix group sources into networks (default 24 and 56).
	IPv4Prefix, IPv6Prefix int
}

// DefaultRateLimit is what `hadron serve` and `hadron dns serve` limit to unless told
// otherwise: 1000 responses a second per /24 (/56) — far above what the resolvers of
// one network ask of an authoritative server for a few names — and every second
// limited response slipped as a truncated reply, so a real resolver behind a forged
// flood still gets its answer over TCP.
var DefaultRateLimit = RateLimit{Rate: 1000, Slip: 2}

// Verdicts of the limiter.
type rrlAction int

const (
	rrlSend rrlAction = iota
	rrlDrop
	rrlSlip
)

const rrlBuckets = 4096

// limiter is a fixed table of token buckets: memory stays bounded whatever the number
// of sources; two networks hashing to one bucket share it, which errs towards limiting.
type limiter struct {
	cfg     RateLimit
	seed    maphash.Seed
	buckets [rrlBuckets]bucket
}

type bucket struct {
	mu      sync.Mutex
	key     netip.Prefix
	tokens  float64
	last    int64 // unix nanoseconds of the last refill
	limited uint32
}

func newLimiter(cfg RateLimit) *limiter {
	if cfg.Rate <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = cfg.Rate
	}
	if cfg.Slip < 0 {
		cfg.Slip = 0
	}
	if cfg.IPv4Prefix <= 0 || cfg.IPv4Prefix > 32 {
		cfg.IPv4Prefix = 24
	}
	if cfg.IPv6Prefix <= 0 || cfg.IPv6Prefix > 128 {
		cfg.IPv6Prefix = 56
	}
	return &limiter{cfg: cfg, seed: maphash.MakeSeed()}
}

// check takes one response's token for src at time now (unix nanoseconds).
func (l *limiter) check(src netip.Addr, now int64) rrlAction {
	bits := l.cfg.IPv4Prefix
	if src.Is6() {
		bits = l.cfg.IPv6Prefix
	}
	key, _ := src.Prefix(bits)
	a := key.Addr().As16()
	b := &l.buckets[maphash.Bytes(l.seed, a[:])%rrlBuckets]
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.key != key {
		b.key, b.tokens, b.last, b.limited = key, float64(l.cfg.Burst), now, 0
	}
	b.tokens = min(float64(l.cfg.Burst), b.tokens+float64(now-b.last)*float64(l.cfg.Rate)/1e9)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return rrlSend
	}
	b.limited++
	if l.cfg.Slip > 0 && b.limited%uint32(l.cfg.Slip) == 0 {
		return rrlSlip
	}
	return rrlDrop
}

// tcReply writes an empty truncated reply to pkt into out: the header with QR and TC
// and the question copied. It returns 0 when pkt has no readable question.
func tcReply(pkt, out []byte) int {
	if len(pkt) < 12 || pkt[4] != 0 || pkt[5] != 1 {
		return 0
	}
	p := 12
	for p < len(pkt) && pkt[p] != 0 {
		if pkt[p] > 63 {
			return 0
		}
		p += int(pkt[p]) + 1
	}
	p += 5 // the root label, type and class
	if p > len(pkt) || p > len(out) {
		return 0
	}
	copy(out, pkt[:p])
	out[2] = out[2]&0x79 | 0x80 | 0x02 // QR, TC; keep opcode and RD
	out[3] = 0
	for i := 6; i < 12; i++ {
		out[i] = 0
	}
	return p
}
