package apitoken

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
)

// Key is where the token name is kept.
func Key(name string) string { return coord.TokensDir + name }

// Create stores a new token name with roles, created by the token by, and returns it
// with its secret, which is not kept anywhere: the caller shows it once. A name taken
// is ErrExists.
func Create(ctx context.Context, c *clientv3.Client, name string, roles []Role, by string, now time.Time) (Token, string, error) {
	if err := CheckName(name); err != nil {
		return Token{}, "", err
	}
	var names []string
	for _, r := range roles {
		names = append(names, string(r))
	}
	roles, err := ParseRoles(names)
	if err != nil {
		return Token{}, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return Token{}, "", err
	}
	t := Token{Name: name, Roles: roles, SHA256: Hash(secret), Created: now.UTC(), CreatedBy: by}
	b, err := json.Marshal(t)
	if err != nil {
		return Token{}, "", err
	}
	resp, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(Key(name)), "=", 0)).
		Then(clientv3.OpPut(Key(name), string(b))).Commit()
	if err != nil {
		return Token{}, "", fmt.Errorf("storing token %s: %w", name, err)
	}
	if !resp.Succeeded {
		return Token{}, "", fmt.Errorf("%w: %s (revoke it first to replace it)", ErrExists, name)
	}
	return t, secret, nil
}

// List returns every stored token, by name, without their hashes.
func List(ctx context.Context, c *clientv3.Client) ([]Token, error) {
	resp, err := c.Get(ctx, coord.TokensDir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	var out []Token
	for _, kv := range resp.Kvs {
		t, err := decode(kv)
		if err != nil {
			return nil, err
		}
		t.SHA256 = ""
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Revoke deletes the token name; every daemon refuses it once its watch sees the
// delete. A name no token has is ErrNoToken.
func Revoke(ctx context.Context, c *clientv3.Client, name string) error {
	resp, err := c.Delete(ctx, Key(name))
	if err != nil {
		return fmt.Errorf("revoking token %s: %w", name, err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%w: %s", ErrNoToken, name)
	}
	return nil
}

func decode(kv *mvccpb.KeyValue) (Token, error) {
	var t Token
	if err := json.Unmarshal(kv.Value, &t); err != nil {
		return Token{}, fmt.Errorf("token %s: %w", kv.Key, err)
	}
	return t, nil
}
