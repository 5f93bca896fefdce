// Package chaos checks a chaos run: given the whole recorded history — every write
// with its client, target, sequence number, send and acknowledgement times and
// outcome; the runs from hadron's ledger; the main name's DNS answers sampled over
// time; the fault timeline; the fleet's health after the last repair — Check reports
// every violation of the six invariants of docs/design/chaos.md, with evidence. It is
// pure: the lab's `hadron lab chaos` records the history, this package judges it.
package chaos

import (
	"time"

	"hadron.dev/hadron/internal/runbook"
)

// Write is one write as its client saw it.
type Write struct {
	Client string `json:"client"`
	// Target is where the client sends: "main" (the application's main name,
	// resolved as a stub resolver does) or a site's name (its load balancer).
	Target string    `json:"target"`
	Seq    int64     `json:"seq"`
	Sent   time.Time `json:"sent"`
	Done   time.Time `json:"done"`
	OK     bool      `json:"ok"`
	// Member and MemberSite are the database member that committed an acknowledged
	// write (from the address the application reports) and its site.
	Member     string `json:"member,omitempty"`
	MemberSite string `json:"memberSite,omitempty"`
	Err        string `json:"err,omitempty"`
}

// DNSSample is one answer of one name server for the main name.
type DNSSample struct {
	At     time.Time `json:"at"`
	Server string    `json:"server"`
	// Site is the site whose address was answered; "" when the server gave none.
	Site string `json:"site,omitempty"`
	Err  string `json:"err,omitempty"`
}

// Fault is one entry of the fault timeline: a fault injected, a repair, or a move a
// person asked for.
type Fault struct {
	At time.Time `json:"at"`
	// Action is the command as given, e.g. "fail site east", "link cut east west --one-way".
	Action string `json:"action"`
	// Repair is true when the action undoes an earlier fault.
	Repair bool `json:"repair,omitempty"`
	// Kills is the site the action takes down whole (fail site), or that comes back
	// (restore site, with Repair).
	Kills string `json:"kills,omitempty"`
	Err   string `json:"err,omitempty"`
	// Took is how long the action took to return.
	Took time.Duration `json:"took,omitempty"`
}

// Health is one look at the fleet after the last repair.
type Health struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
	// Why says what is not healthy yet.
	Why string `json:"why,omitempty"`
}

// History is everything a chaos run recorded.
type History struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Regions maps each site to its region: a move within one region promises RPO 0.
	Regions map[string]string `json:"regions"`
	// Synchronous is true when the mirror set promises RPO 0 across regions too.
	Synchronous bool    `json:"synchronous,omitempty"`
	Writes      []Write `json:"writes"`
	// Lost are, per client, the acknowledged seqs missing from the database when the
	// run ended (read back through a site that answered).
	Lost map[string][]int64 `json:"lost"`
	// Runs are the ledger's records of the run's time, and any run still open at the
	// end (from the daemons' status), oldest first.
	Runs   []runbook.Record `json:"runs"`
	DNS    []DNSSample      `json:"dns"`
	Faults []Fault          `json:"faults"`
	Health []Health         `json:"health"`
}

// LastRepair is when the last repair of the timeline was made (zero when none).
func (h *History) LastRepair() time.Time {
	var t time.Time
	for _, f := range h.Faults {
		if f.Repair && f.At.After(t) {
			t = f.At
		}
	}
	return t
}
