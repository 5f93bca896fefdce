package runbook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/retry"
)

// The traffic steps: where the application's name answers (the active site in etcd,
// which every daemon's name server answers from), and the check that the target
// serves.

// Step names of the traffic steps.
const (
	StepDNS    = "dns"
	StepVerify = "verify"
)

var dns = Def{
	Name: StepDNS,
	Text: "the application's active site in etcd is %[2]s; every name server and DNS provider answers it",
	Do: func(env *Env, ctx context.Context, token coord.Token, r *Record) (string, error) {
		if err := env.setActive(ctx, token, r.App, r.To); err != nil {
			return "", err
		}
		detail := "active site " + r.To
		if env.Providers != nil {
			d, err := env.Providers.Publish(ctx, token, r.App, r.To)
			if err != nil {
				return "", err
			}
			if d != "" {
				detail += "; " + d
			}
		}
		return detail, nil
	},
	Done: func(env *Env, ctx context.Context, r *Record) (bool, error) {
		a, err := env.active(ctx, r.App)
		return a == r.To && (env.Providers == nil || env.Providers.Published(r.App, r.To)), err
	},
	Preview: func(env *Env, ctx context.Context, r *Record) (string, error) {
		a, err := env.active(ctx, r.App)
		if err != nil {
			return "", err
		}
		if a == "" {
			a = "not set (the policy's active site)"
		}
		return fmt.Sprintf("active site %s → %s", a, r.To), nil
	},
}

// setActive points the application's DNS at site: every daemon's name server answers
// from this key, so the answers move at once (and a "down" the site earned as a
// stand-by no longer sends them elsewhere). The write is refused for a stale token.
func (env *Env) setActive(ctx context.Context, token coord.Token, app, site string) error {
	if err := coordstate.Activate(ctx, env.Client, token, app, site); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	return nil
}

func (env *Env) active(ctx context.Context, app string) (string, error) {
	resp, err := env.Client.Get(ctx, coord.ActiveKey(app))
	if err != nil {
		return "", fmt.Errorf("active site of %s: %w", app, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

var verify = Def{
	Name:    StepVerify,
	Text:    "HTTP check through %[2]s and a data marker on every member",
	Data:    true,
	Do:      verifyDo,
	Preview: verifyPreview,
}

// verifyDo checks the target through its load balancer and with a data marker, and
// stamps the run verified: the end of its RTO.
func verifyDo(env *Env, ctx context.Context, _ coord.Token, r *Record) (string, error) {
	var parts []string
	if env.VerifyURL != "" {
		code, err := env.get(ctx, env.VerifyURL)
		if err != nil {
			return "", fmt.Errorf("verify %s: %w", env.VerifyURL, err)
		}
		if code/100 != 2 {
			return "", retry.Retryable("verify %s: %w: HTTP %d", env.VerifyURL, ErrVerify, code)
		}
		parts = append(parts, fmt.Sprintf("HTTP %d", code))
	}
	if env.MainName != nil {
		d, err := env.MainName(ctx, r.To)
		if err != nil {
			return "", retry.Retryable("verify %s: %w: %w", r.To, ErrVerify, err)
		}
		parts = append(parts, d)
	}
	if env.Check != nil {
		d, err := env.Check(ctx, r.To)
		if err != nil {
			return "", retry.Retryable("verify %s: %w: %w", r.To, ErrVerify, err)
		}
		parts = append(parts, d)
	}
	if env.Providers != nil {
		d, err := env.Providers.Verify(ctx, r.App, r.To)
		if err != nil {
			return "", retry.Retryable("verify %s: %w: %w", r.To, ErrVerify, err)
		}
		if d != "" {
			parts = append(parts, d)
		}
	}
	if env.Data != nil {
		st, err := env.Data.Status(ctx)
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		wait := env.VerifyWait
		if wait <= 0 {
			wait = 2 * time.Second
		}
		// The target's members that follow the primary; one still following the old
		// primary is repointed by standby-old and would only make this wait.
		var at []string
		for _, m := range st.Members {
			if m.Site == r.To && (m.Member == st.Primary || following(m, st.Primary)) {
				at = append(at, m.Member)
			}
		}
		vctx, cancel := context.WithTimeout(ctx, wait)
		res, err := env.Data.Verify(vctx, at...)
		cancel()
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		if p := st.Member(res.Primary); p == nil || p.Site != r.To {
			return "", retry.Retryable("verify: %w: primary %s is not at %s", ErrVerify, res.Primary, r.To)
		}
		seen := 0
		for _, m := range res.Members {
			if m.Seen {
				seen++
			}
		}
		parts = append(parts, fmt.Sprintf("marker on %s seen by %d/%d members", res.Primary, seen, len(res.Members)))
	}
	MarkVerified(r, time.Now())
	if len(parts) == 0 {
		return "nothing to check: no HTTP check and no mirror set", nil
	}
	return strings.Join(parts, "; "), nil
}

// verifyPreview lists the checks verify would make; it runs none (the target is not
// serving yet) and writes no marker.
func verifyPreview(env *Env, _ context.Context, r *Record) (string, error) {
	var parts []string
	if env.VerifyURL != "" {
		parts = append(parts, "HTTP GET "+env.VerifyURL)
	}
	if env.MainName != nil {
		parts = append(parts, "the main name answers "+r.To+" at a quorum of name servers")
	}
	if env.Check != nil {
		parts = append(parts, "the application's health check of "+r.To)
	}
	if env.Providers != nil {
		parts = append(parts, "the DNS providers' name servers answer "+r.To)
	}
	if env.Data != nil {
		p := r.Promoted
		if p == "" {
			p = "the primary at " + r.To
		}
		parts = append(parts, "a data marker written on "+p+" and read back on "+r.To+"'s members")
	}
	if len(parts) == 0 {
		return "nothing to check: no HTTP check and no mirror set", nil
	}
	return strings.Join(parts, "; "), nil
}

func (env *Env) get(ctx context.Context, url string) (int, error) {
	c := env.HTTP
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, retry.Retryable("%w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}
