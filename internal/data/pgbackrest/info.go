package pgbackrest

import (
	"encoding/json"
	"fmt"
	"time"
)

// StanzaInfo is one stanza in `pgbackrest info --output=json`.
type StanzaInfo struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Cipher  string   `json:"cipher"`
	Backups []Backup `json:"backups"`
	// Archives are the ranges of WAL the repository holds, one per PostgreSQL
	// version and system (a stanza upgraded in place has several).
	Archives []ArchiveRange `json:"archives"`
}

// Status is pgBackRest's verdict on a stanza; Code 0 is ok, 2 "no valid backups".
type Status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Backup is one backup in the repository.
type Backup struct {
	Label string     `json:"label"`
	Type  BackupType `json:"type"`
	// Prior is the backup an incremental or differential one builds on.
	Prior string    `json:"prior,omitempty"`
	Start time.Time `json:"start"`
	Stop  time.Time `json:"stop"`
	// WALStart and WALStop are the first and last WAL segment the backup needs.
	WALStart string `json:"walStart"`
	WALStop  string `json:"walStop"`
	// Size is the database's size; RepoSize what the backup occupies in the repository
	// (compressed, and only the changed files for diff and incr).
	Size     int64 `json:"size"`
	RepoSize int64 `json:"repoSize"`
	Error    bool  `json:"error,omitempty"`
}

// ArchiveRange is the WAL the repository holds for one database: every segment
// from Min to Max (names sort in WAL order).
type ArchiveRange struct {
	ID  string `json:"id"`
	Min string `json:"min"`
	Max string `json:"max"`
}

type rawStanza struct {
	Name   string `json:"name"`
	Cipher string `json:"cipher"`
	Status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	Archive []struct {
		ID  string `json:"id"`
		Min string `json:"min"`
		Max string `json:"max"`
	} `json:"archive"`
	Backup []struct {
		Label   string  `json:"label"`
		Type    string  `json:"type"`
		Prior   *string `json:"prior"`
		Error   bool    `json:"error"`
		Archive struct {
			Start string `json:"start"`
			Stop  string `json:"stop"`
		} `json:"archive"`
		Timestamp struct {
			Start int64 `json:"start"`
			Stop  int64 `json:"stop"`
		} `json:"timestamp"`
		Info struct {
			Size       int64 `json:"size"`
			Repository struct {
				Delta int64 `json:"delta"`
			} `json:"repository"`
		} `json:"info"`
	} `json:"backup"`
}

// ParseInfo reads stanza's entry from pgbackrest info's JSON output.
func ParseInfo(out []byte, stanza string) (*StanzaInfo, error) {
	var all []rawStanza
	if err := json.Unmarshal(out, &all); err != nil {
		return nil, fmt.Errorf("pgbackrest info: %w", err)
	}
	for _, s := range all {
		if s.Name != stanza {
			continue
		}
		info := &StanzaInfo{Name: s.Name, Cipher: s.Cipher, Status: Status{Code: s.Status.Code, Message: s.Status.Message}}
		for _, a := range s.Archive {
			info.Archives = append(info.Archives, ArchiveRange{ID: a.ID, Min: a.Min, Max: a.Max})
		}
		for i, b := range s.Backup {
			switch BackupType(b.Type) {
			case Full, Diff, Incr:
			default:
				return nil, fmt.Errorf("pgbackrest info: stanza %s: backup[%d].type: unknown %q", stanza, i, b.Type)
			}
			if b.Label == "" {
				return nil, fmt.Errorf("pgbackrest info: stanza %s: backup[%d].label: empty", stanza, i)
			}
			bk := Backup{
				Label: b.Label, Type: BackupType(b.Type), Error: b.Error,
				Start: time.Unix(b.Timestamp.Start, 0).UTC(), Stop: time.Unix(b.Timestamp.Stop, 0).UTC(),
				WALStart: b.Archive.Start, WALStop: b.Archive.Stop,
				Size: b.Info.Size, RepoSize: b.Info.Repository.Delta,
			}
			if b.Prior != nil {
				bk.Prior = *b.Prior
			}
			info.Backups = append(info.Backups, bk)
		}
		return info, nil
	}
	return nil, fmt.Errorf("pgbackrest info: no stanza %q in the output", stanza)
}

// Latest is the newest backup without an error, or false.
func (s *StanzaInfo) Latest() (Backup, bool) {
	for i := len(s.Backups) - 1; i >= 0; i-- {
		if !s.Backups[i].Error {
			return s.Backups[i], true
		}
	}
	return Backup{}, false
}
