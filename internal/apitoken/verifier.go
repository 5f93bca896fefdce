package apitoken

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
)

// Verifier says whose a secret is. It keeps every stored token's hash in memory and
// follows the tokens' keys with an etcd watch, so that checking a request costs no etcd
// round trip and a revoke reaches every daemon as fast as the watch does (milliseconds
// on a healthy cluster). A daemon cut off from the etcd majority keeps the last list it
// saw until its watch comes back: it may accept a token revoked meanwhile, but such a
// daemon leads nothing, so the token can only read from it.
type Verifier struct {
	// Client reads and watches the tokens; nil verifies the bootstrap token alone.
	Client *clientv3.Client
	Log    *slog.Logger

	bootstrap [32]byte // hash of the bootstrap secret; zero for none
	hasBoot   bool

	mu     sync.RWMutex
	loaded bool
	byHash map[string]Identity
	byName map[string]string // name → hash, to forget a deleted key's hash
	rev    int64             // the etcd revision the list reflects

	// missMu serializes the etcd reads of missLookup; lastMiss is when the last began.
	missMu   sync.Mutex
	lastMiss time.Time
}

// missEvery is the least time between two etcd reads for secrets the list does not
// hold: a client spraying made-up secrets costs etcd at most a few reads a second.
const missEvery = 200 * time.Millisecond

// missTimeout bounds that read: a daemon cut off from the majority answers
// ErrUnknown after it, as it would have at once.
const missTimeout = 2 * time.Second

// NewVerifier returns a verifier of the bootstrap secret (none when "") and of the
// tokens stored in etcd through c, once Run has loaded them.
func NewVerifier(c *clientv3.Client, bootstrap string, log *slog.Logger) *Verifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{Client: c, Log: log, byHash: map[string]Identity{}, byName: map[string]string{}}
	if bootstrap != "" {
		v.bootstrap, v.hasBoot = hashBytes(bootstrap), true
	}
	return v
}

// Verify returns the identity of secret: the bootstrap token, a stored token,
// ErrUnknown, or ErrNotLoaded while the stored tokens have not been read yet.
func (v *Verifier) Verify(secret string) (Identity, error) {
	h := hashBytes(secret)
	if v.hasBoot && subtle.ConstantTimeCompare(h[:], v.bootstrap[:]) == 1 {
		return Identity{Name: Bootstrap, Roles: BootstrapRoles}, nil
	}
	if v.Client == nil {
		return Identity{}, ErrUnknown
	}
	key := hex.EncodeToString(h[:])
	v.mu.RLock()
	// A map lookup by the hash leaks at most the timing of the hash's lookup, which a
	// caller who does not know a secret cannot steer towards one.
	id, ok := v.byHash[key]
	loaded := v.loaded
	v.mu.RUnlock()
	switch {
	case ok:
		return id, nil
	case !loaded:
		return Identity{}, ErrNotLoaded
	}
	if id, ok := v.missLookup(key); ok {
		return id, nil
	}
	return Identity{}, ErrUnknown
}

// missLookup reads the tokens from etcd for a secret the list does not hold: a token
// created a moment ago through another daemon may not have come through this one's
// watch yet, and refusing it sent clients that use a token right after creating it an
// HTTP 401. The token found joins the list only when the read is not older than what
// the watch has applied — then any later revoke is a later watch event and removes it;
// otherwise it serves this request only, so a revoke the watch has already applied
// cannot be undone by a slower read. Joining matters: the next request within
// missEvery would be refused while the watch lags (seen under load in CI).
func (v *Verifier) missLookup(key string) (Identity, bool) {
	v.missMu.Lock()
	defer v.missMu.Unlock()
	v.mu.RLock()
	id, ok := v.byHash[key] // the watch may have brought it while this waited
	v.mu.RUnlock()
	if ok {
		return id, true
	}
	if time.Since(v.lastMiss) < missEvery {
		return Identity{}, false
	}
	v.lastMiss = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), missTimeout)
	defer cancel()
	resp, err := v.Client.Get(ctx, coord.TokensDir, clientv3.WithPrefix())
	if err != nil {
		v.Log.Debug("token not in the list, and etcd not read", "err", err)
		return Identity{}, false
	}
	for _, kv := range resp.Kvs {
		t, err := decode(kv)
		if err != nil || subtle.ConstantTimeCompare([]byte(t.SHA256), []byte(key)) != 1 {
			continue
		}
		v.mu.Lock()
		if v.rev <= resp.Header.Revision {
			if old, ok := v.byName[t.Name]; ok {
				delete(v.byHash, old)
			}
			v.byHash[t.SHA256], v.byName[t.Name] = t.Identity(), t.SHA256
		}
		v.mu.Unlock()
		return t.Identity(), true
	}
	return Identity{}, false
}

func hashBytes(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// Run follows the stored tokens until ctx ends, listing them again after any break of
// the watch.
func (v *Verifier) Run(ctx context.Context) {
	if v.Client == nil {
		return
	}
	for ctx.Err() == nil {
		err := v.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		v.Log.Debug("token watch restarts", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (v *Verifier) follow(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := v.Client.Get(gctx, coord.TokensDir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	byHash, byName := map[string]Identity{}, map[string]string{}
	for _, kv := range resp.Kvs {
		t, err := decode(kv)
		if err != nil {
			v.Log.Warn("ignoring a token that does not decode", "err", err)
			continue
		}
		byHash[t.SHA256], byName[t.Name] = t.Identity(), t.SHA256
	}
	v.mu.Lock()
	v.byHash, v.byName, v.loaded, v.rev = byHash, byName, true, resp.Header.Revision
	v.mu.Unlock()
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	wch := v.Client.Watch(wctx, coord.TokensDir, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch tokens: %w", err)
		}
		v.mu.Lock()
		for _, ev := range wr.Events {
			name := string(ev.Kv.Key[len(coord.TokensDir):])
			if old, ok := v.byName[name]; ok {
				delete(v.byHash, old)
				delete(v.byName, name)
			}
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			t, err := decode(ev.Kv)
			if err != nil {
				v.Log.Warn("ignoring a token that does not decode", "err", err)
				continue
			}
			v.byHash[t.SHA256], v.byName[t.Name] = t.Identity(), t.SHA256
		}
		if wr.Header.Revision > v.rev {
			v.rev = wr.Header.Revision
		}
		v.mu.Unlock()
	}
	return errors.New("watch tokens: channel closed")
}
