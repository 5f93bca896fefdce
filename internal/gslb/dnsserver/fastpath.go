package dnsserver

import (
	"net/netip"
	"sync/atomic"
)

// Header bits the fast path reads or patches.
const (
	flagQR = 0x80 // byte 2
	flagRD = 0x01 // byte 2
	flagCD = 0x10 // byte 3
	optLen = 11   // an OPT record without options
)

// fastReply answers the common query shapes from precomputed bytes: one question of
// class IN, no other records except an OPT without options. It writes the reply into
// out and returns its length, or ok=false when the query needs the full handler chain
// (other shapes, EDNS options such as Client Subnet, answers that must be truncated).
// It allocates nothing.
func (c *compiled) fastReply(pkt, out []byte, src netip.Addr, seq *atomic.Uint64) (n int, ok bool) {
	if len(pkt) < 12+1+4 || pkt[2]&flagQR != 0 || pkt[2]&0x78 != 0 || // response or opcode != QUERY
		pkt[4] != 0 || pkt[5] != 1 || pkt[6] != 0 || pkt[7] != 0 || pkt[8] != 0 || pkt[9] != 0 || pkt[10] != 0 || pkt[11] > 1 {
		return 0, false
	}
	var lname [255]byte
	p, ln := 12, 0
	for {
		if p >= len(pkt) {
			return 0, false
		}
		l := int(pkt[p])
		if l == 0 {
			break
		}
		if l > 63 || p+1+l > len(pkt) || ln+1+l >= len(lname) {
			return 0, false
		}
		lname[ln] = byte(l)
		for i := range l {
			b := pkt[p+1+i]
			if 'A' <= b && b <= 'Z' {
				// Precomputed records point into the question for their names, so
				// they would take on the asker's spelling: leave mixed case (0x20
				// resolvers) to the full path, which answers in the zone's spelling.
				return 0, false
			}
			lname[ln+1+i] = b
		}
		ln += 1 + l
		p += 1 + l
	}
	lname[ln] = 0
	ln++
	p++
	if p+4 > len(pkt) {
		return 0, false
	}
	qtype := uint16(pkt[p])<<8 | uint16(pkt[p+1])
	if pkt[p+2] != 0 || pkt[p+3] != 1 || qtype == 0 || qtype == 41 || (qtype >= 128 && qtype != 255) {
		return 0, false
	}
	qend := p + 4
	edns, limit, do := false, 512, byte(0)
	switch {
	case pkt[11] == 0 && qend == len(pkt):
	case pkt[11] == 1 && len(pkt)-qend >= optLen:
		o := pkt[qend:]
		if o[0] != 0 || o[1] != 0 || o[2] != 41 || o[5] != 0 || o[6] != 0 ||
			int(o[9])<<8|int(o[10]) != len(o)-optLen || !plainOptions(o[optLen:]) {
			// Not an OPT, a version we must answer with BADVERS, or options that
			// change the answer (Client Subnet).
			return 0, false
		}
		edns, limit, do = true, min(ednsSize, max(512, int(o[3])<<8|int(o[4]))), o[7]&0x80
	default:
		return 0, false
	}

	var msg []byte
	var tail int // where the bytes after the question start in msg
	if e := c.names[string(lname[:ln])]; e != nil {
		v := 0
		if e.sel != nil {
			v, _ = e.sel.Pick(src, seq.Add(1)-1)
		}
		w := &e.slots[slotOf(qtype)][v]
		msg, tail = w.plain, qend
		if edns {
			msg = w.edns
		}
	} else if neg := c.zoneOf(lname[:ln]); neg != nil {
		msg, tail = neg.plain, neg.q
		if edns {
			msg = neg.edns
		}
	} else {
		msg, tail = refusedPlain[:], 12
		if edns {
			msg = refusedEdns[:]
		}
	}
	n = qend + len(msg) - tail
	if n > limit || n > len(out) {
		return 0, false // needs truncation: the full path does it properly
	}
	copy(out[:12], msg[:12])
	copy(out[12:qend], pkt[12:qend])
	copy(out[qend:n], msg[tail:])
	out[0], out[1] = pkt[0], pkt[1]
	out[2] = out[2]&^flagRD | pkt[2]&flagRD
	out[3] = out[3]&^flagCD | pkt[3]&flagCD
	if edns {
		out[n-optLen+7] |= do // RFC 3225: the DO bit is copied into the response
	}
	return n, true
}

// plainOptions reports whether EDNS options are well formed and none of them is
// Client Subnet: options hadron does not implement (cookies, NSID, padding) are
// ignored, as RFC 6891 asks, and leave the answer as it is.
func plainOptions(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		code, n := int(b[0])<<8|int(b[1]), int(b[2])<<8|int(b[3])
		if code == 8 || len(b) < 4+n { // 8: EDNS Client Subnet
			return false
		}
		b = b[4+n:]
	}
	return true
}

// zoneOf returns the negative answer of the closest zone enclosing the wire name.
func (c *compiled) zoneOf(name []byte) *negative {
	for off := 0; off < len(name); off += int(name[off]) + 1 {
		if neg := c.zones[string(name[off:])]; neg != nil {
			return neg
		}
		if name[off] == 0 {
			break
		}
	}
	return nil
}

// REFUSED replies: header with QR and RCODE 5, one question; with EDNS an OPT after it.
var (
	refusedPlain = [12]byte{2: 0x80, 3: 0x05, 5: 1}
	refusedEdns  = [12 + optLen]byte{2: 0x80, 3: 0x05, 5: 1, 11: 1,
		12: 0, 13: 0, 14: 41, 15: ednsSize >> 8, 16: ednsSize & 0xff}
)
