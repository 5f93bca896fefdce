// Package memory is an in-memory data.Driver for unit tests of code that drives a
// mirror set (data.Failover, the monitor, later the runbook). It validates like the
// PostgreSQL driver does — promotion tokens, fencing tokens, reachability — and records
// every call, so tests can assert what was done and in which order.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// Member is one simulated member.
type Member struct {
	Name, Site, Region string
	Role               string
	Primary, Fenced    bool
	Reachable          bool
	Timeline           uint32
	Flush, Replay      data.LSN
	Upstream           string
	Sync               bool
	// Commits are the positions of the commit records in this member's WAL.
	Commits []data.LSN
	// FenceErr, when set, makes Fence fail.
	FenceErr error
	// Token is the highest fencing token that acted on the member (data.TokenAllows).
	Token int64
}

// Set is a simulated mirror set; its fields may be changed between calls.
type Set struct {
	mu       sync.Mutex
	SystemID uint64
	Members  []*Member
	// Calls lists the operations done, as "fence east-0", "promote west-0".
	Calls []string
}

var (
	_ data.Driver      = (*Set)(nil)
	_ data.LossCounter = (*Set)(nil)
)

func (s *Set) find(name string) (*Member, error) {
	for _, m := range s.Members {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", name, data.ErrUnknownMember)
}

func (s *Set) primary() *Member {
	var p *Member
	for _, m := range s.Members {
		if m.Reachable && m.Primary && !m.Fenced && (p == nil || m.Timeline > p.Timeline) {
			p = m
		}
	}
	return p
}

// Write appends a committed transaction of size bytes on the primary; members that
// follow it and are reachable receive it too when stream is true.
func (s *Set) Write(size int, stream bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.primary()
	if p == nil {
		return
	}
	p.Flush += data.LSN(size)
	p.Replay = p.Flush
	p.Commits = append(p.Commits, p.Flush-1)
	for _, m := range s.Members {
		if m != p && stream && m.Reachable && m.Upstream == p.Name && m.Timeline == p.Timeline {
			m.Flush, m.Replay = p.Flush, p.Flush
			m.Commits = append(m.Commits, p.Flush-1)
		}
	}
}

// Status reports the simulated members.
func (s *Set) Status(ctx context.Context) (*data.SetStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &data.SetStatus{Set: "memory", At: time.Now()}
	p := s.primary()
	if p != nil {
		st.Primary = p.Name
	}
	for _, m := range s.Members {
		ms := data.MemberStatus{Member: m.Name, Site: m.Site, Region: m.Region, Role: roleOf(m.Role), Reachable: m.Reachable}
		if !m.Reachable {
			ms.State = data.StateUnreachable
			st.Members = append(st.Members, ms)
			continue
		}
		ms.SystemID, ms.Timeline, ms.FlushLSN, ms.ReplayLSN, ms.Primary = s.SystemID, m.Timeline, m.Flush, m.Replay, m.Primary
		switch {
		case m.Primary && m.Fenced:
			ms.State = data.StateFenced
		case m.Primary:
			ms.State = data.StatePrimary
		case p != nil && m.Upstream == p.Name && m.Timeline == p.Timeline:
			ms.State, ms.Upstream, ms.Sync = data.StateStreaming, m.Upstream, m.Sync
		default:
			ms.State, ms.Upstream = data.StateDisconnected, m.Upstream
		}
		if p != nil && !m.Primary {
			ms.LagBytes = p.Flush.Sub(m.Replay)
		}
		st.Members = append(st.Members, ms)
	}
	return st, nil
}

// Promote validates token as the PostgreSQL driver does and promotes member.
func (s *Set) Promote(ctx context.Context, member string, tok data.PromotionToken) (*data.PromoteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.find(member)
	if err != nil {
		return nil, err
	}
	if err := data.TokenAllows(member, m.Token, tok.FencingToken, false); err != nil {
		return nil, fmt.Errorf("promote %s: %w", member, err)
	}
	switch {
	case !m.Reachable:
		return nil, retry.Retryable("promote %s: %w", member, data.ErrUnreachable)
	case m.Primary:
		return nil, retry.Permanent("promote %s: %w", member, data.ErrAlreadyPrimary)
	case tok.SystemID != s.SystemID || tok.Timeline != m.Timeline:
		return nil, retry.Permanent("promote %s: %w", member, data.ErrTokenMismatch)
	case m.Replay < tok.Position:
		return nil, retry.Retryable("promote %s: %w", member, data.ErrBehind)
	}
	m.Token = max(m.Token, tok.FencingToken)
	s.Calls = append(s.Calls, "promote "+member)
	m.Replay = m.Flush
	m.Primary, m.Fenced, m.Upstream, m.Sync = true, false, "", false
	m.Timeline++
	return &data.PromoteResult{Member: member, ReplayLSN: m.Replay, Timeline: m.Timeline}, nil
}

// Fence fences member, or fails with its FenceErr, a stale token or when it is
// unreachable.
func (s *Set) Fence(ctx context.Context, member string, fencingToken int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.find(member)
	if err != nil {
		return err
	}
	if !m.Reachable {
		return retry.Retryable("fence %s: %w", member, data.ErrUnreachable)
	}
	if err := data.TokenAllows(member, m.Token, fencingToken, true); err != nil {
		return fmt.Errorf("fence %s: %w", member, err)
	}
	if m.FenceErr != nil {
		return fmt.Errorf("fence %s: %w", member, m.FenceErr)
	}
	s.Calls = append(s.Calls, "fence "+member)
	m.Fenced = true
	m.Token = max(m.Token, fencingToken)
	return nil
}

// Rejoin makes member a standby of the primary, carrying the primary's data.
func (s *Set) Rejoin(ctx context.Context, member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.find(member)
	if err != nil {
		return err
	}
	p := s.primary()
	switch {
	case p == nil:
		return fmt.Errorf("rejoin %s: %w", member, data.ErrNoPrimary)
	case p == m:
		return retry.Permanent("rejoin %s: %w", member, data.ErrAlreadyPrimary)
	case !m.Reachable:
		return retry.Retryable("rejoin %s: %w", member, data.ErrUnreachable)
	}
	s.Calls = append(s.Calls, "rejoin "+member)
	m.Primary, m.Fenced, m.Upstream, m.Timeline = false, false, p.Name, p.Timeline
	m.Flush, m.Replay = p.Flush, p.Flush
	m.Commits = append([]data.LSN(nil), p.Commits...)
	return nil
}

// Verify reports every reachable member following the primary as having seen a marker.
func (s *Set) Verify(ctx context.Context, only ...string) (*data.VerifyResult, error) {
	st, _ := s.Status(ctx)
	if st.Primary == "" {
		return nil, data.ErrNoPrimary
	}
	v := &data.VerifyResult{Primary: st.Primary, Marker: "memory"}
	for _, m := range st.Members {
		if len(only) > 0 && !slices.Contains(only, m.Member) {
			continue
		}
		seen := m.Member == st.Primary || m.State == data.StateStreaming
		v.Members = append(v.Members, data.VerifyMember{Member: m.Member, Seen: seen})
	}
	return v, nil
}

// CountLoss counts oldPrimary's commit records in [from, to).
func (s *Set) CountLoss(ctx context.Context, oldPrimary string, from, to data.LSN) (data.Loss, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.find(oldPrimary)
	if err != nil {
		return data.Loss{}, err
	}
	l := data.EstimateLoss(to, from)
	i := sort.Search(len(m.Commits), func(i int) bool { return m.Commits[i] >= from })
	j := sort.Search(len(m.Commits), func(i int) bool { return m.Commits[i] >= to })
	l.Transactions, l.Counted, l.Method = int64(j-i), true, "memory"
	return l, nil
}

func roleOf(r string) v1alpha1.MemberRole { return v1alpha1.MemberRole(r) }
