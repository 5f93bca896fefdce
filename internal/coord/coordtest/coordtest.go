// Package coordtest starts real embedded etcd clusters on loopback for tests of the
// packages that keep their state in etcd.
package coordtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/member"
	"hadron.dev/hadron/internal/fleet"
)

// Sites are the daemon sites of the test fleet, each with its own loopback address
// (127.0.<Net>.40 + i) so that tests stay clear of a running lab (127.0.1–9.x).
var Sites = []string{"east", "west", "witness"}

// Fleet returns a fleet of three daemon sites on 127.0.net.41–43 (API :7443, peer
// :2380, DNS :5353); callers add load balancers and applications.
func Fleet(net int) *fleet.Fleet {
	f := &fleet.Fleet{}
	for i, name := range Sites {
		ip := fmt.Sprintf("127.0.%d.%d", net, 41+i)
		role := v1alpha1.SiteRoleWorkload
		if name == "witness" {
			role = v1alpha1.SiteRoleWitness
		}
		f.Sites = append(f.Sites, &v1alpha1.Site{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.SiteSpec{Region: "region-" + name, Role: role, Daemon: &v1alpha1.DaemonSpec{
				API:  v1alpha1.Endpoint{Address: ip + ":7443"},
				Peer: &v1alpha1.Endpoint{Address: ip + ":2380"},
				DNS:  &v1alpha1.Endpoint{Address: ip + ":5353"},
			}},
		})
	}
	return f
}

// Member is one running member with a client to it.
type Member struct {
	Name   string
	Member *member.Embedded
	Client *clientv3.Client
	closed bool
}

// Stop stops the member (the daemon's process dying).
func (m *Member) Stop() {
	if m.closed {
		return
	}
	m.closed = true
	m.Client.Close()
	m.Member.Close()
}

// StartCluster starts a member for every daemon site of f with a PKI in a temporary
// directory and waits until the cluster answers. The PKI returned is the CA's
// directory; each member reads its bundle PKI.SiteBundle(site).
func StartCluster(t testing.TB, f *fleet.Fleet) (coord.PKI, []*Member) {
	t.Helper()
	pki := coord.PKI{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := pki.Init(f); err != nil {
		t.Fatal(err)
	}
	var out []*Member
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil {
			continue
		}
		out = append(out, StartMember(t, f, pki, s.Name, filepath.Join(t.TempDir(), s.Name)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range out {
		if err := coord.WaitReady(ctx, m.Client); err != nil {
			t.Fatalf("member %s: %v", m.Name, err)
		}
	}
	return pki, out
}

// StartMember starts one member of f's cluster.
func StartMember(t testing.TB, f *fleet.Fleet, pki coord.PKI, site, dataDir string) *Member {
	t.Helper()
	cl, err := member.Plan(f, site)
	if err != nil {
		t.Fatal(err)
	}
	// Each member reads its own site's bundle, as a daemon does.
	if pki, err = pki.ForSite(site); err != nil {
		t.Fatal(err)
	}
	em, err := member.Start(member.Options{Cluster: cl, DataDir: dataDir, PKI: pki})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := pki.ClientTLS(site)
	if err != nil {
		t.Fatal(err)
	}
	c, err := coord.NewClient(coord.ClientOptions{Endpoints: em.Endpoints(), TLS: tlsCfg})
	if err != nil {
		em.Close()
		t.Fatal(err)
	}
	m := &Member{Name: site, Member: em, Client: c}
	t.Cleanup(m.Stop)
	return m
}

// Eventually polls cond every 50 ms until it holds or within passes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
