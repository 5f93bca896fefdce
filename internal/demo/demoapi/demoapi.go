// Package demoapi is the wire format of the demo application's HTTP API, shared by the
// server (internal/demo) and its clients (internal/load, drills), plus the compact range
// form in which the server reports which sequence numbers a client has.
package demoapi

// WriteResponse is the body of a successful POST /write: the row is committed.
type WriteResponse struct {
	ID     int64  `json:"id"`
	Client string `json:"client"`
	Seq    int64  `json:"seq"`
	Site   string `json:"site"`
	// DB is the database address (host:port) the write was committed through.
	DB string `json:"db"`
	// Duplicate is true when the client's seq was already stored (a retried write);
	// ID is then the existing row's.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ReadResponse is the body of GET /read?client=ID.
type ReadResponse struct {
	Client string `json:"client"`
	Count  int64  `json:"count"`
	Max    int64  `json:"max"`
	// Ranges are the seqs present, ascending, as inclusive intervals.
	Ranges []Range `json:"ranges"`
	// Seqs lists every seq present; only with ?list=1.
	Seqs []int64 `json:"seqs,omitempty"`
	Site string  `json:"site"`
	DB   string  `json:"db"`
}

// ClientStats are one client's rows.
type ClientStats struct {
	Count  int64 `json:"count"`
	MaxSeq int64 `json:"maxSeq"`
}

// Stats is the body of GET /stats.
type Stats struct {
	Site    string                 `json:"site"`
	Rows    int64                  `json:"rows"`
	MaxID   int64                  `json:"maxId"`
	Clients map[string]ClientStats `json:"clients"`
	// DB is the address the application connected to; Server is the address the
	// database server reports for itself (they differ behind a proxy).
	DB         string `json:"db"`
	Server     string `json:"server"`
	ReadOnly   bool   `json:"readOnly"`
	InRecovery bool   `json:"inRecovery"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"` // "ok" or "unavailable"
	Site   string `json:"site"`
	DB     string `json:"db,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}
