package apitoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord/coordtest"
)

// Tokens live in a real three-member etcd; two verifiers follow them through two
// different members, as two daemons do. A revoke must reach both within a few seconds.
func TestCreateVerifyRevokeAcrossMembers(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(247))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	east := apitoken.NewVerifier(members[0].Client, "boot-secret", nil)
	west := apitoken.NewVerifier(members[1].Client, "", nil)
	if _, err := west.Verify("anything"); !errors.Is(err, apitoken.ErrNotLoaded) {
		t.Fatalf("before loading: %v, want ErrNotLoaded", err)
	}
	go east.Run(ctx)
	go west.Run(ctx)

	id, err := east.Verify("boot-secret")
	if err != nil || id.Name != apitoken.Bootstrap || !apitoken.Grants(id.Roles, apitoken.Admin) {
		t.Fatalf("bootstrap: %+v, %v", id, err)
	}
	if _, err := west.Verify("boot-secret"); err == nil {
		t.Fatal("west has no bootstrap token and accepted one")
	}

	tok, secret, err := apitoken.Create(ctx, members[2].Client, "viewer", []apitoken.Role{apitoken.Read}, "bootstrap", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tok.SHA256 != apitoken.Hash(secret) || strings.Contains(tok.SHA256, secret) {
		t.Fatalf("stored %+v for secret %s", tok, secret)
	}
	if _, _, err := apitoken.Create(ctx, members[0].Client, "viewer", []apitoken.Role{apitoken.Operate}, "x", time.Now()); !errors.Is(err, apitoken.ErrExists) {
		t.Fatalf("second create of viewer: %v, want ErrExists", err)
	}
	for _, v := range []*apitoken.Verifier{east, west} {
		coordtest.Eventually(t, 5*time.Second, "the new token is accepted", func() bool {
			id, err := v.Verify(secret)
			return err == nil && id.Name == "viewer" && len(id.Roles) == 1 && id.Roles[0] == apitoken.Read
		})
		if _, err := v.Verify(secret + "x"); !errors.Is(err, apitoken.ErrUnknown) {
			t.Fatalf("a wrong secret: %v, want ErrUnknown", err)
		}
	}

	list, err := apitoken.List(ctx, members[1].Client)
	if err != nil || len(list) != 1 || list[0].Name != "viewer" || list[0].SHA256 != "" || list[0].CreatedBy != "bootstrap" {
		t.Fatalf("list: %+v, %v", list, err)
	}

	start := time.Now()
	if err := apitoken.Revoke(ctx, members[2].Client, "viewer"); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*apitoken.Verifier{"east": east, "west": west} {
		coordtest.Eventually(t, 5*time.Second, "the revoked token is refused at "+name, func() bool {
			_, err := v.Verify(secret)
			return errors.Is(err, apitoken.ErrUnknown)
		})
	}
	t.Logf("revoked token refused by both verifiers %v after the revoke", time.Since(start))
	if err := apitoken.Revoke(ctx, members[0].Client, "viewer"); !errors.Is(err, apitoken.ErrNoToken) {
		t.Fatalf("second revoke: %v, want ErrNoToken", err)
	}
	if _, _, err := apitoken.Create(ctx, members[0].Client, apitoken.Bootstrap, []apitoken.Role{apitoken.Read}, "x", time.Now()); !errors.Is(err, apitoken.ErrInvalid) {
		t.Fatalf("create bootstrap: %v, want ErrInvalid", err)
	}
}

// A token created through another member is accepted at once, before this verifier's
// watch has brought it: here the watch is stopped after the first load, so only the
// read on a miss can find it, and the next request finds it in the list. A made-up
// secret is still refused.
func TestFreshTokenAcceptedBeforeTheWatchBringsIt(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(243))
	v := apitoken.NewVerifier(members[0].Client, "", nil)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(runCtx); close(done) }()
	coordtest.Eventually(t, 10*time.Second, "the list is loaded", func() bool {
		_, err := v.Verify("nothing")
		return errors.Is(err, apitoken.ErrUnknown)
	})
	stop()
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, secret, err := apitoken.Create(ctx, members[1].Client, "fresh", []apitoken.Role{apitoken.Operate}, "bootstrap", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond) // past missEvery since the last miss
	id, err := v.Verify(secret)
	if err != nil || id.Name != "fresh" || !apitoken.Grants(id.Roles, apitoken.Operate) {
		t.Fatalf("fresh token: %+v, %v", id, err)
	}
	// At once again, within missEvery: the read put it in the list, so the next request
	// does not depend on a second read (CI saw a 401 here while the watch lagged).
	if id, err := v.Verify(secret); err != nil || id.Name != "fresh" {
		t.Fatalf("fresh token, second request: %+v, %v", id, err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := v.Verify(secret + "x"); !errors.Is(err, apitoken.ErrUnknown) {
		t.Fatalf("a made-up secret: %v, want ErrUnknown", err)
	}
}
