package coord

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// DefaultLeaseTTL is how long a leader's lease outlives the leader: a dead leader is
// replaced after at most this long.
const DefaultLeaseTTL = 3 * time.Second

// Token is a leader's fencing token: its election key and that key's creation revision.
// Revisions only grow, so a later leader's token is always greater, and a token is
// current exactly while its key still exists with that creation revision.
type Token struct {
	Key    string `json:"key"`
	Rev    int64  `json:"rev"`
	Holder string `json:"holder"`
}

// IsZero reports whether t is no token at all.
func (t Token) IsZero() bool { return t.Rev == 0 }

func (t Token) String() string { return fmt.Sprintf("%s@%d", t.Holder, t.Rev) }

// current is the comparison that holds only while t is the leader's token: the leader's
// key is deleted when its lease ends or it resigns, and a new key gets a new revision.
func (t Token) current() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.Key), "=", t.Rev)
}

// Fenced returns ErrFenced when t is no longer the current leader's token, nil when it
// is. Every side effect outside etcd (a DNS provider change, a promotion, a scale) calls
// it right before acting; writes to etcd use Guarded, which checks atomically.
func Fenced(ctx context.Context, c *clientv3.Client, t Token) error {
	return Guarded(ctx, c, t)
}

// Guarded applies ops in one transaction only if t is still the leader's token.
func Guarded(ctx context.Context, c *clientv3.Client, t Token, ops ...clientv3.Op) error {
	if t.IsZero() {
		return ErrFenced
	}
	// One attempt is bounded on its own: a request stuck while the cluster changes
	// (a member restarting) must fail and be retried, not hold a step's whole budget.
	ctx, cancel := context.WithTimeout(ctx, GuardTimeout)
	defer cancel()
	if len(ops) == 0 {
		// A check alone must still ask the cluster: etcd serves a transaction whose
		// branches hold no request from the member's own copy (an empty branch counts
		// as serializable), so a member that lagged, or had lost its majority,
		// answered "still the leader" for a deposed token. A linearizable Get makes
		// the member confirm with the raft leader first.
		ops = []clientv3.Op{clientv3.OpGet(t.Key, clientv3.WithCountOnly())}
	}
	resp, err := c.Txn(ctx).If(t.current()).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("fencing check %s: %w", t, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("token %s: %w", t, ErrFenced)
	}
	return nil
}

// MaxTxnOps is how many operations one transaction may carry: etcd's default
// --max-txn-ops, which the daemons' etcd keeps. Writers of many keys split at it.
const MaxTxnOps = 128

// GuardTimeout bounds one guarded transaction.
const GuardTimeout = 5 * time.Second

// Elector campaigns for leadership on behalf of one daemon.
type Elector struct {
	client  *clientv3.Client
	name    string
	ttl     time.Duration
	session *concurrency.Session
	elect   *concurrency.Election
}

// NewElector prepares a campaign for the daemon name with a lease of ttl (default
// DefaultLeaseTTL).
func NewElector(c *clientv3.Client, name string, ttl time.Duration) *Elector {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &Elector{client: c, name: name, ttl: ttl}
}

// Campaign blocks until this daemon is the leader or ctx ends, and returns its token.
// Leadership lasts until Done is closed (the lease was lost) or Resign.
func (e *Elector) Campaign(ctx context.Context) (Token, error) {
	return e.CampaignUntil(ctx, ctx)
}

// CampaignUntil is Campaign that also gives up, leaving the election, when wait ends;
// the leadership it wins lives on ctx alone.
func (e *Elector) CampaignUntil(ctx, wait context.Context) (Token, error) {
	s, err := concurrency.NewSession(e.client, concurrency.WithTTL(int(e.ttl/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return Token{}, fmt.Errorf("election session: %w", err)
	}
	el := concurrency.NewElection(s, LeaderPrefix)
	if err := el.Campaign(wait, e.name); err != nil {
		s.Close()
		return Token{}, fmt.Errorf("campaign: %w", err)
	}
	e.session, e.elect = s, el
	return Token{Key: el.Key(), Rev: el.Rev(), Holder: e.name}, nil
}

// Done is closed when the leadership's lease is lost (expired or revoked).
func (e *Elector) Done() <-chan struct{} {
	if e.session == nil {
		return nil
	}
	return e.session.Done()
}

// Resign gives up leadership so that another daemon takes over at once.
func (e *Elector) Resign(ctx context.Context) error {
	if e.session == nil {
		return nil
	}
	err := e.elect.Resign(ctx)
	e.session.Close()
	e.session, e.elect = nil, nil
	if err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	return nil
}

// Leader returns the current leader's token, or a zero token when there is none.
func Leader(ctx context.Context, c *clientv3.Client) (Token, error) {
	resp, err := c.Get(ctx, LeaderPrefix, clientv3.WithFirstCreate()...)
	if err != nil {
		return Token{}, fmt.Errorf("leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return Token{}, nil
	}
	kv := resp.Kvs[0]
	return Token{Key: string(kv.Key), Rev: kv.CreateRevision, Holder: string(kv.Value)}, nil
}

// IsFenced reports whether err says a token was stale.
func IsFenced(err error) bool { return errors.Is(err, ErrFenced) }
