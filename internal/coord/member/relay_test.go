package member_test

import (
	"context"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/coord/member"
)

func TestPartitionedMemberLosesQuorumThroughCutLinks(t *testing.T) {
	f := coordtest.Fleet(221)
	links := coordtest.WithLinks(t, f, 221)
	cl, err := member.Plan(f, "east")
	if err != nil {
		t.Fatal(err)
	}
	if cl.Relay == nil || cl.Relay.Route("west") != "127.0.221.121:2380" || cl.Relay.Route("east") != "127.0.221.41:12380" {
		t.Fatalf("east's relay plan: %+v", cl.Relay)
	}
	_, members := coordtest.StartCluster(t, f)
	read := func(m *coordtest.Member) error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := m.Client.Get(ctx, coord.QuorumKey)
		return err
	}
	// east's processes keep running; only its links are cut.
	links.Cut("east")
	coordtest.Eventually(t, 30*time.Second, "east loses the majority", func() bool { return read(members[0]) != nil })
	for _, m := range members[1:] {
		coordtest.Eventually(t, 30*time.Second, m.Name+" keeps the majority", func() bool { return read(m) == nil })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := members[1].Client.Put(ctx, coord.Root+"during-cut", "west"); err != nil {
		t.Fatal(err)
	}
	links.Heal(t, "east")
	coordtest.Eventually(t, 30*time.Second, "east back with the write made during the cut", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		r, err := members[0].Client.Get(ctx, coord.Root+"during-cut")
		return err == nil && len(r.Kvs) == 1
	})
}
