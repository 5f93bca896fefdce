package daemon

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
)

// tokens are the API tokens as this daemon knows them: the verifier that follows them
// in etcd (with the PKI's api-token as the bootstrap token) and the handlers of the
// token routes. Any daemon creates and revokes tokens (etcd needs its majority, not
// the leader): a token is not a decision under the fencing token.
type tokens struct {
	client   *clientv3.Client
	verifier *apitoken.Verifier
	log      *slog.Logger
}

func newTokens(c *clientv3.Client, bootstrap string, log *slog.Logger) *tokens {
	log = log.With("component", "tokens")
	return &tokens{client: c, verifier: apitoken.NewVerifier(c, bootstrap, log), log: log}
}

func (t *tokens) handlers() *api.TokenHandlers {
	return &api.TokenHandlers{
		Create: func(ctx context.Context, req api.TokenRequest, by string) (apitoken.Token, string, error) {
			tok, secret, err := apitoken.Create(ctx, t.client, req.Name, req.Roles, by, time.Now())
			if err == nil {
				t.log.Info("API token created", "name", tok.Name, "roles", apitoken.JoinRoles(tok.Roles), "by", by)
			}
			return tok, secret, err
		},
		List: func(ctx context.Context) ([]apitoken.Token, error) { return apitoken.List(ctx, t.client) },
		Revoke: func(ctx context.Context, name, by string) error {
			err := apitoken.Revoke(ctx, t.client, name)
			if err == nil {
				t.log.Info("API token revoked", "name", name, "by", by)
			}
			return err
		},
	}
}
