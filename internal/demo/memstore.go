package demo

import (
	"context"
	"sync"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// MemStore is an in-memory Store for unit tests of the handlers and of clients such as
// internal/load. SetDown makes every call fail, as a database outage would.
type MemStore struct {
	mu       sync.Mutex
	nextID   int64
	rows     map[string]map[int64]int64 // client -> seq -> id
	down     error
	readOnly bool
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{rows: map[string]map[int64]int64{}}
}

// memAddr is the database address MemStore reports.
const memAddr = "memory:0"

// SetDown makes calls fail with err (nil: up again).
func (m *MemStore) SetDown(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = err
}

// SetReadOnly makes writes and pings fail with ErrReadOnly, as a fenced primary does.
func (m *MemStore) SetReadOnly(ro bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readOnly = ro
}

// Write implements Store.
func (m *MemStore) Write(ctx context.Context, client string, seq int64, _ string) (int64, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, true); err != nil {
		return 0, "", false, err
	}
	seqs := m.rows[client]
	if seqs == nil {
		seqs = map[int64]int64{}
		m.rows[client] = seqs
	}
	if id, ok := seqs[seq]; ok {
		return id, memAddr, true, nil
	}
	m.nextID++
	seqs[seq] = m.nextID
	return m.nextID, memAddr, false, nil
}

// Read implements Store.
func (m *MemStore) Read(ctx context.Context, client string) ([]demoapi.Range, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, false); err != nil {
		return nil, "", err
	}
	var seqs []int64
	for s := range m.rows[client] {
		seqs = append(seqs, s)
	}
	return demoapi.Compress(seqs), memAddr, nil
}

// Stats implements Store.
func (m *MemStore) Stats(ctx context.Context) (demoapi.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, false); err != nil {
		return demoapi.Stats{}, err
	}
	st := demoapi.Stats{Clients: map[string]demoapi.ClientStats{}, DB: memAddr, Server: memAddr,
		ReadOnly: m.readOnly, MaxID: m.nextID}
	for c, seqs := range m.rows {
		cs := demoapi.ClientStats{Count: int64(len(seqs))}
		for s := range seqs {
			cs.MaxSeq = max(cs.MaxSeq, s)
		}
		st.Clients[c] = cs
		st.Rows += cs.Count
	}
	return st, nil
}

// Ping implements Store.
func (m *MemStore) Ping(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, true); err != nil {
		return "", err
	}
	return memAddr, nil
}

func (m *MemStore) check(ctx context.Context, write bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.down != nil {
		return m.down
	}
	if write && m.readOnly {
		return ErrReadOnly
	}
	return nil
}
