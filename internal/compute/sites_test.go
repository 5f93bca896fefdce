package compute_test

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"

	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/retry"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// The runbook's steps call compute through its interface; runbook does not import
// compute, so the check lives here.
var _ runbook.Sites = (*compute.Sites)(nil)

// An application or site the fleet does not name fails before any request, and
// permanently: retrying will not add it to the fleet.
func TestUnknownApplicationAndSiteArePermanent(t *testing.T) {
	f := &fleet.Fleet{Applications: []*v1alpha1.Application{{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}}
	s := &compute.Sites{Fleet: f}
	ctx := context.Background()
	_, err := s.Activate(ctx, "no-such-app", "east")
	var perm *retry.PermanentError
	if !errors.Is(err, compute.ErrUnknownApplication) || !errors.As(err, &perm) {
		t.Errorf("unknown application: %v, want a permanent ErrUnknownApplication", err)
	}
	_, err = s.StandBy(ctx, "shop", "no-such-site")
	if !errors.Is(err, compute.ErrUnknownSite) || !errors.As(err, &perm) {
		t.Errorf("unknown site: %v, want a permanent ErrUnknownSite", err)
	}
	f.Sites = []*v1alpha1.Site{{ObjectMeta: metav1.ObjectMeta{Name: "witness"}, Spec: v1alpha1.SiteSpec{Role: v1alpha1.SiteRoleWitness}}}
	_, err = s.Activate(ctx, "shop", "witness")
	if !errors.Is(err, site.ErrNoCluster) || !errors.As(err, &perm) {
		t.Errorf("witness: %v, want a permanent site.ErrNoCluster", err)
	}
	_, err = (&compute.Sites{}).StandBy(ctx, "shop", "east")
	if !errors.Is(err, compute.ErrUnknownApplication) {
		t.Errorf("no fleet: %v, want ErrUnknownApplication", err)
	}
}
