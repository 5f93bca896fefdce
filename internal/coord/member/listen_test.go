package member_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/coord/member"
)

// A member started with ListenOn binds the address it is given, not the advertised
// one (a load balancer's, in a pod), and its daemon reaches it on loopback with the
// site's own certificate.
func TestMemberListensWhereTold(t *testing.T) {
	f := coordtest.Fleet(210)
	f.Sites = f.Sites[:1]
	pki := coord.PKI{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := pki.Init(f); err != nil {
		t.Fatal(err)
	}
	site := f.Sites[0].Name
	sitePKI, err := pki.ForSite(site)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := member.Plan(f, site)
	if err != nil {
		t.Fatal(err)
	}
	const listen, advertised = "127.0.210.141:2380", "127.0.210.41:2380"
	if cl, err = cl.ListenOn(listen, ""); err != nil {
		t.Fatal(err)
	}
	em, err := member.Start(member.Options{Cluster: cl, DataDir: filepath.Join(t.TempDir(), "data"), PKI: sitePKI})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	tlsCfg, err := sitePKI.ClientTLS(site)
	if err != nil {
		t.Fatal(err)
	}
	c, err := coord.NewClient(coord.ClientOptions{Endpoints: em.Endpoints(), TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := coord.WaitReady(ctx, c); err != nil {
		t.Fatalf("member through %v: %v", em.Endpoints(), err)
	}
	if _, err := c.Put(ctx, coord.Root+"listen", "ok"); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", listen, 2*time.Second); err != nil {
		t.Errorf("nothing accepts peers at %s: %v", listen, err)
	} else {
		conn.Close()
	}
	if conn, err := net.DialTimeout("tcp", advertised, 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("the member also listens at its advertised address %s", advertised)
	}
}
