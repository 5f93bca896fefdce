package data

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL write-ahead log position (a byte offset in the WAL stream).
type LSN uint64

// ParseLSN reads PostgreSQL's "X/Y" notation (two hexadecimal halves).
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("lsn %q: %w", s, ErrBadLSN)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("lsn %q: %w", s, ErrBadLSN)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("lsn %q: %w", s, ErrBadLSN)
	}
	return LSN(h<<32 | l), nil
}

// String formats l as PostgreSQL does.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Sub returns l - o in bytes, or 0 when o is ahead.
func (l LSN) Sub(o LSN) int64 {
	if o >= l {
		return 0
	}
	return int64(l - o)
}

// MarshalText writes the "X/Y" form, so JSON shows positions as PostgreSQL does.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads the "X/Y" form.
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := ParseLSN(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
